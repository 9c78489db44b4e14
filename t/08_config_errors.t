# 08_config_errors.t - httpd -t refuses bad configuration with the file
# and line of the offending directive, and accepts the SPEC's example.
# Runs httpd itself on configuration files of its own; the test server is
# not used.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use File::Spec::Functions qw(catfile rel2abs);
use File::Temp qw(tempdir);

my $top = rel2abs(catfile($FindBin::Bin, '..'));
my $module = catfile($top, '.libs', 'mod_auth_logto.so');
my $jwks = catfile($top, 't', 'keys', 'jwks.json');
my $httpd = $ENV{HTTPD_BIN} || '/usr/sbin/apache2';
my $apxs = $ENV{APXS} || '/usr/bin/apxs';
chomp(my $libexec = `$apxs -q LIBEXECDIR 2>/dev/null` || '');
$libexec ||= '/usr/lib/apache2/modules';
my $dir = tempdir('logto-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# The lines every configuration starts with; the directive under test
# follows them, so its line number is known.
my @HEAD = (
    "ServerRoot $dir",
    "ServerName 127.0.0.1",
    "Listen 127.0.0.1:1",
    "PidFile $dir/httpd.pid",
    "ErrorLog $dir/error_log",
    "DefaultRuntimeDir $dir",
    "LoadModule mpm_prefork_module $libexec/mod_mpm_prefork.so",
    "<IfModule !mod_authn_core.c>",
    "LoadModule authn_core_module $libexec/mod_authn_core.so",
    "</IfModule>",
    "<IfModule !mod_authz_core.c>",
    "LoadModule authz_core_module $libexec/mod_authz_core.so",
    "</IfModule>",
    "<IfModule !mod_authz_user.c>",
    "LoadModule authz_user_module $libexec/mod_authz_user.so",
    "</IfModule>",
    "LoadModule socache_shmcb_module $libexec/mod_socache_shmcb.so",
    "LoadModule auth_logto_module $module",
);

my $n = 0;

# httpd -t on HEAD plus LINES: (exit code, output, the conf file).
sub check_conf
{
    my (@lines) = @_;
    my $file = catfile($dir, sprintf('t%02d.conf', ++$n));
    open my $fh, '>', $file or die "$file: $!\n";
    print {$fh} map { "$_\n" } @HEAD, @lines;
    close $fh;
    my $out = `'$httpd' -t -f '$file' 2>&1`;
    return ($? >> 8, $out, $file);
}

# [name, lines inside <Location /api>, 1-based index of the bad line
#  within those lines, what the message must say]
my @bad = (
    ['AuthLogtoClockSkew abc', ['AuthLogtoClockSkew abc'], 1,
     qr/AuthLogtoClockSkew/],
    ['AuthLogtoClockSkew -5', ['AuthLogtoClockSkew -5'], 1,
     qr/AuthLogtoClockSkew/],
    ['AuthLogtoAlgorithms HS256', ['AuthLogtoAlgorithms RS256 HS256'], 1,
     qr/HS256/],
    ['AuthLogtoAlgorithms none', ['AuthLogtoAlgorithms none'], 1,
     qr/none/],
    ['AuthLogtoAlgorithms unknown', ['AuthLogtoAlgorithms ES999'], 1,
     qr/ES999/],
    ['AuthLogtoIssuer relative/url', ['AuthLogtoIssuer relative/url'], 1,
     qr/AuthLogtoIssuer/],
    ['AuthLogtoIssuer ftp URL', ['AuthLogtoIssuer ftp://x.example/oidc'], 1,
     qr/AuthLogtoIssuer/],
    ['AuthLogtoJwksUri relative', ['AuthLogtoJwksUri /jwks'], 1,
     qr/AuthLogtoJwksUri/],
    ['AuthLogtoAudience *', ['AuthLogtoAudience *'], 1,
     qr/AuthLogtoAudience/],
    ['AuthLogtoAudience https://*.example.com',
     ['AuthLogtoAudience https://*.example.com'], 1, qr/AuthLogtoAudience/],
    ['AuthLogtoJwksFile /nonexistent',
     ['AuthLogtoJwksFile /nonexistent/jwks.json'], 1, qr/nonexistent/],
    ['AuthLogtoUnauthenticated maybe', ['AuthLogtoUnauthenticated maybe'], 1,
     qr/AuthLogtoUnauthenticated/],
    ['AuthLogtoCorsPreflight sometimes',
     ['AuthLogtoCorsPreflight sometimes'], 1, qr/AuthLogtoCorsPreflight/],
    ['AuthLogtoTokenCache maybe', ['AuthLogtoTokenCache maybe'], 1,
     qr/AuthLogtoTokenCache/],
    ['AuthLogtoClaimHeader with a bad header name',
     ['AuthLogtoClaimHeader sub "X Bad:Name"'], 1, qr/AuthLogtoClaimHeader/],
    ['AuthLogtoResourceMetadata not a path',
     ['AuthLogtoResourceMetadata well-known'], 1,
     qr/AuthLogtoResourceMetadata/],
    ['AuthLogtoDPoP maybe', ['AuthLogtoDPoP maybe'], 1, qr/AuthLogtoDPoP/],
    ['AuthLogtoDPoPMaxAge 0', ['AuthLogtoDPoPMaxAge 0'], 1,
     qr/AuthLogtoDPoPMaxAge/],
    ['AuthLogtoDPoPMaxAge over a day', ['AuthLogtoDPoPMaxAge 90000'], 1,
     qr/AuthLogtoDPoPMaxAge/],
    ['AuthLogtoDPoPBaseURL relative', ['AuthLogtoDPoPBaseURL /api'], 1,
     qr/AuthLogtoDPoPBaseURL/],
    ['AuthLogtoDPoPBaseURL with a query',
     ['AuthLogtoDPoPBaseURL https://api.example.com/?a=1'], 1,
     qr/AuthLogtoDPoPBaseURL/],
    ['AuthLogtoDPoPBaseURL with a bad port',
     ['AuthLogtoDPoPBaseURL https://api.example.com:99999/'], 1,
     qr/AuthLogtoDPoPBaseURL/],
    ['AuthLogtoDPoPNonce maybe', ['AuthLogtoDPoPNonce maybe'], 1,
     qr/AuthLogtoDPoPNonce/],
    ['misspelled AuthLogtoIssuerr',
     ['AuthLogtoIssuerr https://tenant.logto.app/oidc'], 1,
     qr/AuthLogtoIssuerr/],
    ['Require logto-claim with only a name',
     ['AuthType Logto', 'Require logto-claim client_id'], 2,
     qr/logto-claim/],
    ['Require logto-scope without a scope',
     ['AuthType Logto', 'Require logto-scope'], 2, qr/logto-scope/],
);

# The SPEC's example, and the rest of the directives with good values.
my @good = (
    ['the SPEC example', [
        'AuthType Logto',
        'AuthLogtoIssuer   https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        'Require logto-scope read:products',
     ]],
    ['every directive', [
        'AuthType Logto',
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products '
            . 'urn:logto:organization:*',
        'AuthLogtoJwksUri https://tenant.logto.app/oidc/jwks',
        "AuthLogtoJwksFile $jwks",
        'AuthLogtoAlgorithms ES384 RS256',
        'AuthLogtoClockSkew 0',
        'AuthLogtoJwksRefresh 600',
        'AuthLogtoJwksMinRefresh 10',
        'AuthLogtoJwksMaxStale 3600',
        'AuthLogtoFetchTimeout 3',
        'AuthLogtoRemoteUserClaim client_id',
        'AuthLogtoClaimHeader sub X-Logto-User',
        'AuthLogtoClaimHeader custom.tier X-Tier',
        'AuthLogtoRealm "my api"',
        'AuthLogtoUnauthenticated pass',
        'AuthLogtoTokenCache Off',
        'AuthLogtoCorsPreflight auth',
        'AuthLogtoResourceMetadata /.well-known/oauth-protected-resource',
        'AuthLogtoDPoP Required',
        'AuthLogtoDPoPMaxAge 120',
        'AuthLogtoDPoPBaseURL https://api.example.com:8443/prefix',
        'AuthLogtoDPoPNonce Off',
        '<RequireAny>',
        'Require logto-scope a b',
        'Require logto-claim custom.tier gold silver',
        'Require logto-organization',
        'Require logto-organization org-1 org-2',
        'Require valid-user',
        '</RequireAny>',
     ]],
);

plan tests => 3 * @bad + 2 * @good + 4;

for my $b (@bad) {
    my ($name, $lines, $index, $says) = @$b;
    my ($rc, $out, $file) = check_conf('<Location /api>', @$lines,
                                       '</Location>');
    my $line = @HEAD + 1 + $index;
    isnt($rc, 0, "$name: refused") or diag($out);
    like($out, qr/line \Q$line\E of \Q$file\E/, "$name: file and line")
        or diag($out);
    like($out, $says, "$name: names the problem") or diag($out);
}

for my $g (@good) {
    my ($name, $lines) = @$g;
    my ($rc, $out) = check_conf('<Location /api>', @$lines, '</Location>');
    is($rc, 0, "$name: accepted") or diag($out);
    like($out, qr/Syntax OK/, "$name: Syntax OK") or diag($out);
}

# Server-wide: AuthLogtoCache only in the server configuration, and only
# with a cache provider that is loaded.
my ($rc, $out) = check_conf('AuthLogtoCache shmcb');
is($rc, 0, 'AuthLogtoCache shmcb: accepted') or diag($out);
($rc, $out) = check_conf('AuthLogtoCache nosuchcache');
isnt($rc, 0, 'AuthLogtoCache of an unknown provider: refused');
like($out, qr/nosuchcache/, 'AuthLogtoCache: names the provider') or diag($out);
($rc, $out) = check_conf('<Location /api>', 'AuthLogtoCache shmcb',
                         '</Location>');
isnt($rc, 0, 'AuthLogtoCache inside <Location>: refused') or diag($out);
