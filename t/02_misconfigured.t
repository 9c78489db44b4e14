# 02_misconfigured.t - AuthType Logto without AuthLogtoIssuer cannot
# verify anything: the location answers 500 and never serves the content,
# whatever the request carries.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use LogtoTest;

plan tests => 4;

my $res = GET('/misconfigured/');
is($res->code, 500, 'no token: 500');
unlike($res->content, qr/^misconfigured$/m, 'content not served');

$res = get_bearer('/misconfigured/', token());
is($res->code, 500, 'valid token: 500');
unlike($res->content, qr/^misconfigured$/m, 'content not served');
