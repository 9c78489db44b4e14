# 08_config_errors.t - httpd -t refuses bad configuration with the file
# and line of the offending directive, and accepts the SPEC's example.
# Runs httpd itself on configuration files of its own; the test server is
# not used.
use strict;
use JSON::PP ();
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use File::Spec::Functions qw(catfile rel2abs);
use LogtoConfig;

my $top = rel2abs(catfile($FindBin::Bin, '..'));
my $jwks = catfile($top, 't', 'keys', 'jwks.json');
my $dir = conf_dir();

# The lines every configuration starts with; the directive under test
# follows them, so its line number is known.
my @HEAD = conf_head($dir);

# httpd -t on HEAD plus LINES: (exit code, output, the conf file).
sub check_conf { return conf_test($dir, @HEAD, @_) }

# [name, lines inside <Location /api>, 1-based index of the bad line
#  within those lines, what the message must say]
my @bad = (
    ['AuthLogtoClockSkew abc', ['AuthLogtoClockSkew abc'], 1,
     qr/AuthLogtoClockSkew/],
    ['AuthLogtoClockSkew -5', ['AuthLogtoClockSkew -5'], 1,
     qr/AuthLogtoClockSkew/],
    # leeway, not a way to turn exp, nbf and iat off
    ['AuthLogtoClockSkew over an hour', ['AuthLogtoClockSkew 3601'], 1,
     qr/AuthLogtoClockSkew: .* from 0 to 3600/],
    ['AuthLogtoFetchTimeout over 300', ['AuthLogtoFetchTimeout 301'], 1,
     qr/AuthLogtoFetchTimeout: .* from 1 to 300/],
    ['AuthLogtoRealm not ASCII', ["AuthLogtoRealm caf\xc3\xa9"], 1,
     qr/AuthLogtoRealm: printable ASCII/],
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
    ['AuthLogtoIssuer with port 99999',
     ['AuthLogtoIssuer https://a.example:99999/oidc'], 1,
     qr/AuthLogtoIssuer: .*port is not 1 to 65535/],
    ['AuthLogtoIssuer with port 0',
     ['AuthLogtoIssuer https://a.example:0/oidc'], 1, qr/port is not 1/],
    ['AuthLogtoIssuer with a space', ['AuthLogtoIssuer "https://a /oidc"'], 1,
     qr/AuthLogtoIssuer: .*percent-encode/],
    ['AuthLogtoIssuer with a quote',
     ['AuthLogtoIssuer "https://a.example/o\\"idc"'], 1,
     qr/AuthLogtoIssuer: .*percent-encode/],
    ['AuthLogtoIssuer with a query',
     ['AuthLogtoIssuer https://a.example/oidc?x=1'], 1,
     qr/AuthLogtoIssuer: .*no query/],
    ['AuthLogtoJwksUri with port 70000',
     ['AuthLogtoIssuer https://a.example/oidc',
      'AuthLogtoJwksUri https://a.example:70000/jwks'], 2,
     qr/AuthLogtoJwksUri: .*port is not 1/],
    ['AuthLogtoDPoPBaseURL with port 0',
     ['AuthLogtoDPoPBaseURL https://a.example:0'], 1,
     qr/AuthLogtoDPoPBaseURL: .*port is not 1/],
    ['AuthLogtoDPoPBaseURL with a space',
     ['AuthLogtoDPoPBaseURL "https://a /x"'], 1, qr/percent-encode/],
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
    ['AuthLogtoTokenCache On many', ['AuthLogtoTokenCache On many'], 1,
     qr/AuthLogtoTokenCache: ENTRIES/],
    ['AuthLogtoTokenCache On -1', ['AuthLogtoTokenCache On -1'], 1,
     qr/AuthLogtoTokenCache: ENTRIES/],
    ['AuthLogtoTokenCache On 99999999999',
     ['AuthLogtoTokenCache On 99999999999'], 1,
     qr/AuthLogtoTokenCache: ENTRIES/],
    ['AuthLogtoCAFile of a key set, not certificates',
     ["AuthLogtoCAFile $jwks"], 1,
     qr/AuthLogtoCAFile: .*holds no PEM certificate/],
    ['AuthLogtoResourceMetadata with a query',
     ['AuthLogtoResourceMetadata /md?x=1'], 1,
     qr/AuthLogtoResourceMetadata: .*no query/],
    ['AuthLogtoClaimHeader: two claims for one header',
     ['AuthLogtoClaimHeader sub X-A', 'AuthLogtoClaimHeader email X-A'], 2,
     qr/AuthLogtoClaimHeader: 'X-A' already carries the claim 'sub'/],
    ['AuthLogtoClaimHeader: two headers CGI sees as one',
     ['AuthLogtoClaimHeader sub X-A-B', 'AuthLogtoClaimHeader email x_a_b'], 2,
     qr/AuthLogtoClaimHeader: 'x_a_b' already carries the claim 'sub'/],
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
    # An empty word never ends a line: the words after it would be lost
    # (fewer scopes, no ids: the line would grant more).
    ['Require logto-scope with an empty argument',
     ['AuthType Logto', 'Require logto-scope "s:a" "" "s:admin"'], 2,
     qr/Require logto-scope: an empty argument/],
    ['Require logto-organization with an empty id',
     ['AuthType Logto', 'Require logto-organization "" org-1'], 2,
     qr/Require logto-organization: an empty argument/],
    ['Require logto-claim with an empty value',
     ['AuthType Logto', 'Require logto-claim x a "" b'], 2,
     qr/Require logto-claim: an empty argument/],
    ['Require logto-scope with a quote in a scope',
     ['AuthType Logto', 'Require logto-scope s:a \'s:"x"\''], 2,
     qr/Require logto-scope: .* is no scope/],
    ['Require logto-scope with a non-ASCII scope',
     ['AuthType Logto', "Require logto-scope s:\xc3\xbc"], 2,
     qr/Require logto-scope: .* is no scope/],
    # Keys for an https issuer come over https, in either order.
    ['http AuthLogtoJwksUri for an https issuer',
     ['AuthLogtoIssuer https://tenant.logto.app/oidc',
      'AuthLogtoJwksUri http://tenant.logto.app/oidc/jwks'], 2,
     qr/AuthLogtoJwksUri: .*plain http.*https/],
    ['https issuer after an http AuthLogtoJwksUri',
     ['AuthLogtoJwksUri http://tenant.logto.app/oidc/jwks',
      'AuthLogtoIssuer https://tenant.logto.app/oidc'], 2,
     qr/AuthLogtoIssuer: .*plain http.*https/],
    # AuthType Logto where no issuer or audience can be in effect: the
    # AuthType line and the section are named.
    ['AuthType Logto without AuthLogtoIssuer',
     ['AuthType Logto', 'AuthLogtoAudience https://api.example.com/products',
      'Require valid-user'], 1,
     qr{<Location /api>.*no AuthLogtoIssuer in effect}],
    ['AuthType Logto without AuthLogtoAudience',
     ['AuthType Logto', 'AuthLogtoIssuer https://tenant.logto.app/oidc',
      'Require valid-user'], 1,
     qr{<Location /api>.*no AuthLogtoAudience in effect}],
    ['AuthType Logto without either',
     ['Require valid-user', 'AuthType Logto'], 2,
     qr{no AuthLogtoIssuer and AuthLogtoAudience in effect}],
);

# AuthLogtoClaimHeader may not name a header the request's framing or
# routing depends on, or one the module reads itself (any case, '_' for
# '-').
for my $h (qw(Authorization Host Content-Length Transfer-Encoding Connection
              Expect Upgrade Cookie TE Trailer Proxy-Authorization
              proxy-connection content_length DPoP Origin
              Access-Control-Request-Method Content-Type)) {
    push @bad, ["AuthLogtoClaimHeader sub $h",
                ["AuthLogtoClaimHeader sub $h"], 1,
                qr/AuthLogtoClaimHeader: '\Q$h\E' is a header the request/];
}

# The SPEC's example, and the rest of the directives with good values.
my @good = (
    ['plain http keys for a plain http issuer', [
        'AuthType Logto',
        'AuthLogtoIssuer http://127.0.0.1:3001/oidc',
        'AuthLogtoJwksUri http://127.0.0.1:3001/oidc/jwks',
        'AuthLogtoAudience https://api.example.com/products',
        'Require valid-user',
     ]],
    ['a claim header named like a reserved one but longer', [
        'AuthLogtoClaimHeader sub X-Host',
        'AuthLogtoClaimHeader sub Cookie-Name',
     ]],
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
        'AuthLogtoClockSkew 3600',
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

# [name, whole configuration after HEAD]: where issuer and audience may
# come from a section around the AuthType Logto one, it starts.
my @good_sections = (
    ['issuer and audience at server level', [
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '<Location /api>', 'AuthType Logto', 'Require valid-user',
        '</Location>']],
    ['an inner <Location> inherits from an outer one', [
        '<Location /api>',
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '</Location>',
        '<Location /api/orders>', 'AuthType Logto', 'Require valid-user',
        '</Location>']],
    ['issuer in a <Directory>, AuthType in a <Location>', [
        "<Directory $dir>",
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '</Directory>',
        '<Location /api>', 'AuthType Logto', 'Require valid-user',
        '</Location>']],
    ['a virtual host inherits the main server\'s settings', [
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '<VirtualHost 127.0.0.1:1>', '<Location /api>', 'AuthType Logto',
        'Require valid-user', '</Location>', '</VirtualHost>']],
    ['inside <IfModule>', [
        '<IfModule mod_auth_logto.c>', '<Location /api>', 'AuthType Logto',
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        'Require valid-user', '</Location>', '</IfModule>']],
    ['an http issuer around the http AuthLogtoJwksUri', [
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '<Location /dev>', 'AuthLogtoIssuer http://127.0.0.1:3001/oidc',
        '</Location>',
        '<Location /dev/api>', 'AuthType Logto',
        'AuthLogtoJwksUri http://127.0.0.1:3001/oidc/jwks',
        'Require valid-user', '</Location>']],
    ['one metadata path, one resource, in two <Location>s', [
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        '<Location /a>', 'AuthLogtoAudience https://api.example.com/a',
        'AuthLogtoResourceMetadata /md', '</Location>',
        '<Location /a/v2>', 'AuthLogtoResourceMetadata /md', '</Location>']],
    ['a virtual host\'s own metadata path beside the main server\'s', [
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        '<Location /a>', 'AuthLogtoAudience https://api.example.com/a',
        'AuthLogtoResourceMetadata /md', '</Location>',
        '<VirtualHost 127.0.0.1:1>', '<Location /b>',
        'AuthLogtoAudience https://api.example.com/b',
        'AuthLogtoResourceMetadata /md', '</Location>', '</VirtualHost>']],
    ['AuthType Logto replaced by another AuthType', [
        '<Location /api>', 'AuthType Logto', 'AuthType None',
        'Require all granted', '</Location>']],
);

# [name, configuration after HEAD, line of the AuthType within it, the
#  section the message must name]
my @bad_sections = (
    ['a sibling <Location> does not reach', [
        '<Location /other>',
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '</Location>',
        '<Location /api>', 'AuthType Logto', 'Require valid-user',
        '</Location>'], 6, qr{<Location /api>}],
    ['a deeper <Location> does not reach up', [
        '<Location /api/orders>',
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '</Location>',
        '<Location /api>', 'AuthType Logto', 'Require valid-user',
        '</Location>'], 6, qr{<Location /api>}],
    ['another virtual host does not reach', [
        '<VirtualHost 127.0.0.1:1>',
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '</VirtualHost>',
        '<VirtualHost 127.0.0.2:1>', '<Location /api>', 'AuthType Logto',
        'Require valid-user', '</Location>', '</VirtualHost>'], 7,
     qr{<Location /api>}],
    ['an http AuthLogtoJwksUri under an https issuer of the server', [
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        '<Location /api>', 'AuthType Logto',
        'AuthLogtoJwksUri http://tenant.logto.app/oidc/jwks',
        'Require valid-user', '</Location>'], 5,
     qr{AuthLogtoJwksUri on line \d+ .*plain http for the https issuer of line \d+},
     'AuthLogtoJwksUri'],
    ['one metadata path for two resources', [
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        '<Location /a>', 'AuthLogtoAudience https://api.example.com/a',
        'AuthLogtoResourceMetadata /md', '</Location>',
        '<Location /b>', 'AuthLogtoAudience https://api.example.com/b',
        'AuthLogtoResourceMetadata /md', '</Location>'], 8,
     qr{already serves the document of https://api\.example\.com/a},
     'AuthLogtoResourceMetadata /md'],
    ['a metadata document with only the organization wildcard', [
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        '<Location /org>', 'AuthLogtoAudience urn:logto:organization:*',
        'AuthLogtoResourceMetadata /md', '</Location>'], 4,
     qr{no AuthLogtoAudience the document could name},
     'AuthLogtoResourceMetadata /md'],
    ['a <Directory> with nothing around it', [
        "<Directory $dir/api>", 'AuthType Logto', 'Require valid-user',
        '</Directory>'], 2, qr{<Directory \Q$dir\E/api>}],
);

plan tests => 3 * @bad + 2 * @good + 2 * @good_sections
    + 3 * @bad_sections + 4 + 7 + 5 + 4 + 2 + 6 + 2 + 3;

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
like($out, qr/LoadModule socache_nosuchcache_module/,
     'AuthLogtoCache of an unknown provider: the LoadModule line to add')
    or diag($out);
# Two key sources for one issuer in one section: the second replaces the
# first, and startup says so.
($rc, $out) = check_conf('<Location /api>', 'AuthType Logto',
    'AuthLogtoIssuer https://tenant.logto.app/oidc',
    'AuthLogtoAudience https://api.example.com/products',
    "AuthLogtoJwksFile $jwks",
    'AuthLogtoJwksUri https://tenant.logto.app/oidc/jwks',
    'Require valid-user', '</Location>');
is($rc, 0, 'two key sources for one issuer: accepted') or diag($out);
like($out, qr/AuthLogtoJwksUri on \S+:\d+ replaces the key source of .*jwks\.json/,
     'two key sources for one issuer: the replacement is said') or diag($out);
# A cache secret every user can read: accepted, and startup says so
# with the file and line; one only its owner reads: nothing said.
{
    my $secret = catfile($dir, 'cache.secret');
    open my $fh, '>', $secret or die;
    print $fh join('', map { chr(int(rand(256))) } 1 .. 32);
    close $fh;
    chmod 0644, $secret;
    my $file;
    ($rc, $out, $file) = check_conf("AuthLogtoCacheSecret $secret");
    is($rc, 0, 'a world-readable AuthLogtoCacheSecret: accepted') or diag($out);
    my $line = @HEAD + 1;
    like($out, qr/AuthLogtoCacheSecret on \Q$file\E:$line: .*readable or writable by every user/,
         'a world-readable AuthLogtoCacheSecret: said, with the file and line')
        or diag($out);
    chmod 0600, $secret;
    ($rc, $out) = check_conf("AuthLogtoCacheSecret $secret");
    unlike($out, qr/LOGTO01705/, 'an AuthLogtoCacheSecret of mode 600: '
           . 'nothing said') or diag($out);
}
# A key file with members that can never verify: accepted, and startup
# says which were skipped and why, with the file and line.
{
    my $doc = JSON::PP->new->decode(do {
        local $/;
        open my $fh, '<', $jwks or die;
        <$fh>;
    });
    push @{ $doc->{keys} }, { kty => 'oct', k => 'c2VjcmV0', kid => 'sym' },
        { kty => 'RSA', kid => 'no-n', e => 'AQAB' };
    my $mixed = catfile($dir, 'mixed-jwks.json');
    open my $fh, '>', $mixed or die;
    print $fh JSON::PP->new->encode($doc);
    close $fh;
    chmod 0644, $mixed;
    my $file;
    ($rc, $out, $file) = check_conf('<Location /api>', 'AuthType Logto',
        'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        "AuthLogtoJwksFile $mixed", 'Require valid-user', '</Location>');
    is($rc, 0, 'a key file with unusable members: accepted') or diag($out);
    my $line = @HEAD + 5;
    like($out, qr/AuthLogtoJwksFile on \Q$file\E:$line: .*members skipped.*kid=sym.*kid=no-n/,
         'a key file with unusable members: the skipped ones are said, with '
         . 'the file and line') or diag($out);
}
# A shmcb segment too small for the module's records: refused by -t (it
# used to pass, and the real start died in mod_socache_shmcb, silently).
for my $size (16000, 131071) {
    ($rc, $out) = check_conf("AuthLogtoCache shmcb:/tmp/logto-x($size)");
    isnt($rc, 0, "AuthLogtoCache shmcb of $size bytes: refused");
    like($out, qr/at least 131072 bytes/,
         "AuthLogtoCache shmcb of $size bytes: says the least") or diag($out);
}
($rc, $out) = check_conf('AuthLogtoCache shmcb:/tmp/logto-x(131072)');
is($rc, 0, 'AuthLogtoCache shmcb of 131072 bytes: accepted') or diag($out);
for my $args ('shmcb:/tmp/logto-x(abc)', 'shmcb:(1000)') {
    my $file;
    ($rc, $out, $file) = check_conf("AuthLogtoCache $args");
    my $line = @HEAD + 1;
    isnt($rc, 0, "AuthLogtoCache $args: refused by -t") or diag($out);
    like($out, qr/line \Q$line\E of \Q$file\E.*AuthLogtoCache/s,
         "AuthLogtoCache $args: file and line") or diag($out);
}
($rc, $out) = check_conf('<Location /api>', 'AuthLogtoCache shmcb',
                         '</Location>');
isnt($rc, 0, 'AuthLogtoCache inside <Location>: refused') or diag($out);

# AuthLogtoFastP384: On or Off, server-wide only.
for my $v (qw(On Off)) {
    ($rc, $out) = check_conf("AuthLogtoFastP384 $v");
    is($rc, 0, "AuthLogtoFastP384 $v: accepted") or diag($out);
}
($rc, $out) = check_conf('AuthLogtoFastP384 maybe');
isnt($rc, 0, 'AuthLogtoFastP384 maybe: refused');
like($out, qr/AuthLogtoFastP384/, 'AuthLogtoFastP384: named') or diag($out);
($rc, $out) = check_conf('<Location /api>', 'AuthLogtoFastP384 Off',
                         '</Location>');
isnt($rc, 0, 'AuthLogtoFastP384 inside <Location>: refused') or diag($out);
for my $g (@good_sections) {
    my ($name, $lines) = @$g;
    my ($rc, $out) = check_conf(@$lines);
    is($rc, 0, "$name: accepted") or diag($out);
    like($out, qr/Syntax OK/, "$name: Syntax OK") or diag($out);
}

for my $b (@bad_sections) {
    my ($name, $lines, $index, $section, $what) = @$b;
    $what //= 'AuthType Logto';
    my ($rc, $out, $file) = check_conf(@$lines);
    my $line = @HEAD + $index;
    isnt($rc, 0, "$name: refused") or diag($out);
    like($out, qr/\Q$what\E on line \Q$line\E of \Q$file\E/,
         "$name: file and line of the $what") or diag($out);
    like($out, $section, "$name: names the section") or diag($out);
}

# No shared cache: without mod_socache_shmcb and without AuthLogtoCache,
# startup fails naming the LoadModule line to add; AuthLogtoCache none
# chooses per-process caches knowingly.
{
    my @saved = @HEAD;
    @HEAD = grep { !/socache_shmcb/ } @HEAD;
    my ($rc, $out) = check_conf('<Location /api>',
        'AuthType Logto', 'AuthLogtoIssuer https://tenant.logto.app/oidc',
        'AuthLogtoAudience https://api.example.com/products',
        'Require valid-user', '</Location>');
    isnt($rc, 0, 'no shmcb, no AuthLogtoCache: refused') or diag($out);
    like($out, qr/LoadModule socache_shmcb_module/,
         'no shmcb: names the LoadModule line to add') or diag($out);
    like($out, qr/AuthLogtoCache is not set/,
         'no shmcb: says why') or diag($out);
    like($out, qr/AuthLogtoCache none/, 'no shmcb: names the way out')
        or diag($out);
    ($rc, $out) = check_conf('AuthLogtoCache none');
    is($rc, 0, 'no shmcb, AuthLogtoCache none: accepted') or diag($out);
    like($out, qr/Syntax OK/, 'AuthLogtoCache none: Syntax OK') or diag($out);
    @HEAD = @saved;
    ($rc, $out) = check_conf('AuthLogtoCache none');
    is($rc, 0, 'AuthLogtoCache none with shmcb loaded: accepted')
        or diag($out);
}
