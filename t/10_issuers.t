# 10_issuers.t - several issuers in one location (AuthLogtoIssuer with two
# URLs, each paired with its own AuthLogtoJwksFile): a token is checked
# only with the keys of the issuer its iss names, and key sources that do
# not pair with an issuer are startup errors naming the file and line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use File::Spec::Functions qw(catfile rel2abs);
use LogtoConfig;
use JSON::PP;
use LogtoTest;

my $A = 'https://a.example.com/oidc';
my $B = 'https://b.example.com/oidc';
my $URL = '/iss/two/';
my $NARROW = '/iss/two/narrow/';

# A's key set: es384-1 (also as "shared"); B's: es384-2 (also "shared").
sub tok
{
    my (%args) = @_;
    my $iss = delete $args{iss};
    return token(%args, claims => { iss => $iss });
}

my @cases = (
    ['token of A', $URL, tok(iss => $A, kid => 'es384-1'), 200],
    ['token of B', $URL, tok(iss => $B, kid => 'es384-2'), 200],
    ['token of an issuer not configured, signed by A\'s key', $URL,
     tok(iss => ISSUER, kid => 'es384-1'), 401],
    ['signed by B\'s key, claiming iss A', $URL,
     tok(iss => $A, kid => 'es384-2'), 401],
    ['signed by A\'s key, claiming iss B', $URL,
     tok(iss => $B, kid => 'es384-1'), 401],
    ['shared kid: A\'s key, iss A', $URL,
     tok(iss => $A, kid => 'shared', sign_kid => 'es384-1'), 200],
    ['shared kid: B\'s key, iss B', $URL,
     tok(iss => $B, kid => 'shared', sign_kid => 'es384-2'), 200],
    ['shared kid: B\'s key, iss A', $URL,
     tok(iss => $A, kid => 'shared', sign_kid => 'es384-2'), 401],
    ['shared kid: A\'s key, iss B', $URL,
     tok(iss => $B, kid => 'shared', sign_kid => 'es384-1'), 401],
    ['two AuthLogtoIssuer lines: token of A', '/iss/lines/',
     tok(iss => $A, kid => 'es384-1'), 200],
    ['two AuthLogtoIssuer lines: token of B', '/iss/lines/',
     tok(iss => $B, kid => 'es384-2'), 200],
    ['two AuthLogtoAudience lines: the second audience', '/iss/lines/',
     token(kid => 'es384-2',
           claims => { iss => $B, aud => 'https://api.example.com/orders' }),
     200],
    ['two AuthLogtoAudience lines: neither audience', '/iss/lines/',
     token(kid => 'es384-2',
           claims => { iss => $B, aud => 'https://api.example.com/other' }),
     401],
    ['narrowed to A: token of A', $NARROW,
     tok(iss => $A, kid => 'es384-1'), 200],
    ['narrowed to A: token of B', $NARROW,
     tok(iss => $B, kid => 'es384-2'), 401],
    ['narrowed to A: shared kid, B\'s key, iss A', $NARROW,
     tok(iss => $A, kid => 'shared', sign_kid => 'es384-2'), 401],
    ['one issuer, unpaired file: token of A', '/iss/amb/',
     tok(iss => $A, kid => 'es384-1'), 200],
    ['unpaired file under two issuers (per request): token of A: 500',
     '/iss/amb/wide/', tok(iss => $A, kid => 'es384-1'), 500],
    ['unpaired file under two issuers (per request): token of B: 500',
     '/iss/amb/wide/', tok(iss => $B, kid => 'es384-2'), 500],
    ['nested, two paired issuers inside an unpaired file: token of A',
     '/iss/nest/two/', tok(iss => $A, kid => 'es384-1'), 200],
    ['nested, two paired issuers inside an unpaired file: token of B',
     '/iss/nest/two/', tok(iss => $B, kid => 'es384-2'), 200],
    ['A\'s keys cannot be had: token of B', '/iss/down/',
     tok(iss => $B, kid => 'es384-2'), 200],
    ['A\'s keys cannot be had: token of A (a kid B lacks): 503',
     '/iss/down/', tok(iss => $A, kid => 'es384-1'), 503],
    ['A\'s keys cannot be had: B\'s key, claiming iss A: 503',
     '/iss/down/', tok(iss => $A, kid => 'es384-2'), 503],
);

# [name, lines inside <Location /api>, 1-based index of the bad line,
#  what the message must say]
my $top = rel2abs(catfile($FindBin::Bin, '..'));
my $ka = catfile($top, 't', 'keys', 'jwks-issuer-a.json');
my $kb = catfile($top, 't', 'keys', 'jwks-issuer-b.json');
my @bad = (
    ['ISSUER not among the issuers',
     ["AuthLogtoIssuer $A", "AuthLogtoJwksFile $kb $B"], 2,
     qr/AuthLogtoJwksFile: '\Q$B\E' is not one of this section's/],
    ['ISSUER of a JWKS URI not among the issuers',
     ["AuthLogtoIssuer $A $B",
      'AuthLogtoJwksUri https://c.example.com/jwks https://c.example.com/oidc'],
     2, qr/AuthLogtoJwksUri: 'https:\/\/c\.example\.com\/oidc' is not one/],
    ['unpaired source with two issuers',
     ["AuthLogtoIssuer $A $B", "AuthLogtoJwksFile $ka"], 2,
     qr/AuthLogtoJwksFile: this section has 2 issuers; name the issuer/],
    ['issuer named twice', ["AuthLogtoIssuer $A $A"], 1,
     qr/AuthLogtoIssuer: '\Q$A\E' named twice/],

);
my @good = (
    ['two paired files',
     ["AuthLogtoIssuer $A $B", "AuthLogtoJwksFile $ka $A",
      "AuthLogtoJwksFile $kb $B"]],
    ['one issuer, unpaired file', ["AuthLogtoIssuer $A", "AuthLogtoJwksFile $ka"]],
    ['a second line naming an issuer again',
     ["AuthLogtoIssuer $A", "AuthLogtoIssuer $A $B", "AuthLogtoJwksFile $ka $A",
      "AuthLogtoJwksFile $kb $B"]],
    ['two issuer lines, each paired',
     ["AuthLogtoIssuer $A", "AuthLogtoIssuer $B", "AuthLogtoJwksFile $ka $A",
      "AuthLogtoJwksFile $kb $B"]],
    ['one paired, the other by discovery',
     ["AuthLogtoIssuer $A $B", "AuthLogtoJwksFile $ka $A"]],
);

plan tests => @cases + 2 * @bad + @good + 2;

for my $c (@cases) {
    my ($name, $url, $jwt, $want) = @$c;
    my $res = GET($url, Authorization => "Bearer $jwt");
    is($res->code, $want, $name);
}

# RFC 9728: every issuer is an authorization server of the resource.
{
    my $res = GET('/.well-known/oauth-protected-resource/iss/two');
    is($res->code, 200, 'metadata document');
    my $doc = eval { decode_json($res->content) } || {};
    is_deeply($doc->{authorization_servers}, [$A, $B],
              'authorization_servers lists both issuers');
}

# Startup errors: httpd -t with configurations of their own.
my $dir = conf_dir();
my @HEAD = (
    conf_head($dir),
    "<Location /api>",
    "AuthType Logto",
    "AuthLogtoAudience https://api.example.com/products",
);

sub check_conf { return conf_test($dir, @HEAD, @_, '</Location>') }

for my $b (@bad) {
    my ($name, $lines, $idx, $re) = @$b;
    my ($rc, $out, $file) = check_conf(@$lines);
    my $line = @HEAD + $idx;
    isnt($rc, 0, "$name: httpd -t fails");
    my $at = qr/\Q$file\E:$line\b|line $line of \Q$file\E/;
    like($out, qr/$at.*$re|$re.*$at/s,
         "$name: message names $file:$line")
        or diag($out);
}
for my $g (@good) {
    my ($name, $lines) = @$g;
    my ($rc, $out) = check_conf(@$lines);
    is($rc, 0, "$name: httpd -t accepts it") or diag($out);
}
