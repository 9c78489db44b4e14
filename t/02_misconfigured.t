# 02_misconfigured.t - what only a request can find out: a .htaccess
# with AuthType Logto but no AuthLogtoIssuer answers 500 and never serves
# the content, whatever the request carries, with one log line per
# interval; a .htaccess may name only key sources and CA files that the
# server configuration declares. (The server configuration's own mistakes are
# startup errors: t/08_config_errors.t.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use LogtoTest;

plan tests => 16;

sub error_log
{
    open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die;
    local $/;
    return <$fh>;
}

my $res = GET('/misconfigured/');
is($res->code, 500, 'no token: 500');
unlike($res->content, qr/^misconfigured$/m, 'content not served');

$res = get_bearer('/misconfigured/', token());
is($res->code, 500, 'valid token: 500');
unlike($res->content, qr/^misconfigured$/m, 'content not served');
GET('/misconfigured/') for 1 .. 3;
my @lines = error_log() =~ /(LOGTO00105: [^\n]*)/g;
is(scalar @lines, 1, 'the misconfiguration is logged once, not per request')
    or diag(join "\n", @lines);
like($lines[0] // '', qr/AuthLogtoIssuer and AuthLogtoAudience/,
     'the log line names what is missing');

# .htaccess naming the server configuration's own issuer and key file.
is(get_bearer('/ht/declared/', token())->code, 200,
   '.htaccess with declared key sources: valid token 200');
is(GET('/ht/declared/')->code, 401, '.htaccess with declared sources: 401');

# .htaccess naming anything else: refused as a configuration error.
for my $case (['other-issuer', 'AuthLogtoIssuer', 'attacker.example/oidc'],
              ['other-uri', 'AuthLogtoJwksUri', 'attacker.example/jwks'],
              ['other-file', 'AuthLogtoJwksFile', '/etc/passwd'],
              ['other-ca', 'AuthLogtoCAFile', '/etc/passwd']) {
    my ($dir, $directive, $value) = @$case;
    $res = get_bearer("/ht/$dir/", token());
    is($res->code, 500, "$directive not declared by the server: 500");
    like(error_log(),
         qr/\Q$dir\E\/\.htaccess: \Q$directive\E: '[^']*\Q$value\E' is not named in the server configuration/,
         "$directive: the log names the .htaccess and the value");
}
