# 01_no_token.t - a protected location without any token: 401 with a bare
# Bearer challenge (RFC 6750 3.1: no error attribute when the request
# carried no authentication).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use LogtoTest;

plan tests => 7;

my $res = GET('/api/products/');
is($res->code, 401, 'no token: 401');

my $ch = challenge($res);
ok($ch, 'no token: WWW-Authenticate present')
    or diag($res->as_string);
is($ch && $ch->{scheme}, 'Bearer', 'challenge scheme is Bearer');
is($ch && $ch->{realm}, 'products', 'realm is AuthLogtoRealm');
ok($ch && !exists $ch->{error}, 'no error attribute')
    or diag($ch->{raw});
is(scalar(() = $res->header('WWW-Authenticate')), 1, 'one challenge');

# HEAD answers the same way.
$res = Apache::TestRequest::HEAD('/api/products/');
is($res->code, 401, 'HEAD without token: 401');
