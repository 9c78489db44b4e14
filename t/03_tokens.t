# 03_tokens.t - the response table of RFC 6750 for tokens sent in the
# Authorization header of /api/products (Require logto-scope read:products).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use LogtoTest;

my $URL = '/api/products/';

# [name, Authorization value, status, error attribute or undef]
my @cases;

sub case
{
    push @cases, [@_];
}

my $now = time;

# Accepted tokens.
case('ES384 token', 'Bearer ' . token(), 200);
case('RS256 token', 'Bearer ' . token(kid => 'rs256-1'), 200);
case('ES256 token', 'Bearer ' . token(kid => 'es256-1'), 200);
case('EdDSA token', 'Bearer ' . token(kid => 'ed-1'), 200);
case('aud array holding the audience',
     'Bearer ' . token(claims => { aud => ['urn:other', AUDIENCE] }), 200);
case('typ application/at+jwt',
     'Bearer ' . token(header => { typ => 'application/at+jwt' }), 200);
case('no typ', 'Bearer ' . token(header => { typ => undef }), 200);
case('scheme in lower case', 'bearer ' . token(), 200);
case('exp just inside the clock skew',
     'Bearer ' . token(claims => { exp => $now - 30 }), 200);

# Refused tokens: 401 invalid_token.
case('expired',
     'Bearer ' . token(claims => { iat => $now - 7200, exp => $now - 3600 }),
     401, 'invalid_token');
case('not yet valid (nbf)',
     'Bearer ' . token(claims => { nbf => $now + 3600 }), 401, 'invalid_token');
case('missing exp', 'Bearer ' . token(claims => { exp => undef }),
     401, 'invalid_token');
case('wrong aud',
     'Bearer ' . token(claims => { aud => 'https://api.example.com/orders' }),
     401, 'invalid_token');
case('wrong iss',
     'Bearer ' . token(claims => { iss => 'https://other.logto.app/oidc' }),
     401, 'invalid_token');
case('bad signature', 'Bearer ' . tamper_signature(token()),
     401, 'invalid_token');
case('signed by a key outside the JWKS under a known kid',
     'Bearer ' . token(kid => 'es384-1', sign_kid => 'es384-2'),
     401, 'invalid_token');
case('unknown kid', 'Bearer ' . token(kid => 'es384-2'), 401, 'invalid_token');
case('alg none', 'Bearer ' . unsigned_token(), 401, 'invalid_token');
case('alg none with a signature',
     'Bearer ' . unsigned_token(signature => 'AAAA'), 401, 'invalid_token');
case('alg HS256',
     'Bearer ' . unsigned_token(header => { alg => 'HS256' },
                                signature => b64url('x' x 32)),
     401, 'invalid_token');
case('alg not matching the key (RS256 header on an EC key)',
     'Bearer ' . token(kid => 'es384-1', sign_kid => 'rs256-1',
                       alg => 'RS256'),
     401, 'invalid_token');
case('typ of an ID token', 'Bearer ' . token(header => { typ => 'JWT' }),
     401, 'invalid_token');
case('two parts only', 'Bearer ' . join('.', (split /\./, token())[0, 1]),
     401, 'invalid_token');
case('opaque token', 'Bearer ' . 'x' x 43, 401, 'invalid_token');

# Credentials of another scheme are no token (RFC 6750 section 3.1): the
# bare challenge, no error attribute.
case('Basic credentials', 'Basic dXNlcjpwYXNz', 401, undef);
case('Digest credentials', 'Digest username="u", realm="r", nonce="n"',
     401, undef);
case('Negotiate credentials', 'Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag',
     401, undef);
case('an unknown scheme', 'Token abc', 401, undef);
case('a scheme that only starts like Bearer', 'Bearerx ' . token(), 401,
     undef);
case('a token without kid', 'Bearer ' . token(header => { kid => undef }),
     401, 'invalid_token');

# Malformed Bearer requests: 400 invalid_request.
case('Bearer without a token', 'Bearer', 400, 'invalid_request');
case('Bearer and a space only', 'Bearer ', 400, 'invalid_request');
case('Bearer with two tokens', 'Bearer ' . token() . ' ' . token(), 400,
     'invalid_request');
case('Bearer with a comma-separated second token',
     'Bearer ' . token() . ',' . token(), 400, 'invalid_request');
# two Authorization headers, as httpd joins them: a token beside another
# credential, in either order
case('Basic, then Bearer', 'Basic dXNlcjpwYXNz, Bearer ' . token(), 400,
     'invalid_request');
case('Basic, then Bearer garbage', 'Basic dXNlcjpwYXNz, Bearer x.y.z', 400,
     'invalid_request');
case('Bearer, then Basic', 'Bearer ' . token() . ', Basic dXNlcjpwYXNz', 400,
     'invalid_request');
case('Basic, then an empty Bearer', 'Basic dXNlcjpwYXNz, Bearer', 400,
     'invalid_request');
case('an empty Bearer, then Basic', 'Bearer, Basic dXNlcjpwYXNz', 400,
     'invalid_request');

# A valid token without the required scope: 403 insufficient_scope.
case('scope lacking read:products',
     'Bearer ' . token(claims => { scope => 'write:products' }),
     403, 'insufficient_scope');
case('no scope claim', 'Bearer ' . token(claims => { scope => undef }),
     403, 'insufficient_scope');

# Size bound: an Authorization header over 16 KiB is refused before any
# parsing; one below it is parsed (and refused as a token).
case('Authorization header of 16000 bytes',
     'Bearer ' . ('a' x (16000 - 7)), 401, 'invalid_token');
case('Authorization header over 16 KiB',
     'Bearer ' . ('a' x (16 * 1024 + 1)), 400, 'invalid_request');

# Blanks: around the token they are not part of it; inside it they make
# two words. An empty header carries no token.
case('two blanks after the scheme', 'Bearer  ' . token(), 200);
case('a tab after the scheme', "Bearer\t" . token(), 200);
case('a tab inside the token', "Bearer a\tb", 400, 'invalid_request');
case('an empty Authorization header', '', 401, undef);

# Checks per case: status, then, for refusals, the challenge.
my $tests = 0;
$tests += $_->[2] == 200 ? 2 : 3 for @cases;
plan tests => $tests + 13;

for my $c (@cases) {
    my ($name, $authz, $status, $error) = @$c;
    my $res = get_auth($URL, $authz);
    is($res->code, $status, "$name: $status")
        or diag($res->headers->as_string);
    if ($status == 200) {
        like($res->content, qr/^products$/m, "$name: content served");
        next;
    }
    my $ch = challenge($res) || {};
    is($ch->{scheme}, 'Bearer', "$name: Bearer challenge")
        or diag($res->headers->as_string);
    is($ch->{error}, $error, "$name: error=\"" . ($error // '') . '"')
        or diag($ch->{raw});
}

# The challenge of an expired token: a description that names the failure
# and never echoes the token.
my $expired = token(claims => { iat => $now - 7200, exp => $now - 3600 });
my $ch = challenge(get_bearer($URL, $expired)) || {};
is($ch->{realm}, 'products', 'expired: realm');
ok(defined $ch->{error_description} && length $ch->{error_description},
   'expired: error_description present');
like($ch->{error_description} // '', qr/expired/i,
     'expired: error_description says expired');
my $sig = (split /\./, $expired)[2];
unlike($ch->{raw} // '', qr/\Q$sig\E/, 'challenge does not echo the token');

# A payload altered into something that is not JSON: the signature is
# checked first, so the answer names the signature.
my ($h, undef, $s) = split /\./, token();
$ch = challenge(get_bearer($URL, "$h." . b64url('{not json') . ".$s")) || {};
is($ch->{error}, 'invalid_token', 'altered payload: invalid_token');
is($ch->{error_description}, 'signature invalid',
   'altered payload: error_description="signature invalid"')
    or diag($ch->{raw});

# The insufficient_scope challenge names the missing scope.
$ch = challenge(get_bearer($URL,
    token(claims => { scope => 'write:products' }))) || {};
is($ch->{scope}, 'read:products', 'insufficient_scope: scope="read:products"');
is($ch->{realm}, 'products', 'insufficient_scope: realm');
# SPEC's shape to the letter: realm, error, scope, nothing between
is($ch->{raw},
   'Bearer realm="products", error="insufficient_scope", scope="read:products"',
   'insufficient_scope: the whole challenge, no error_description');

# HEAD is answered as GET is.
my $head = Apache::TestRequest::HEAD($URL,
    Authorization => 'Bearer ' . tamper_signature(token()));
is($head->code, 401, 'HEAD, bad signature: 401');
is((challenge($head) || {})->{error}, 'invalid_token', '... invalid_token');
$head = Apache::TestRequest::HEAD($URL,
    Authorization => 'Bearer ' . token(claims => { scope => 'write:products' }));
is($head->code, 403, 'HEAD, scope lacking: 403');
is((challenge($head) || {})->{error}, 'insufficient_scope',
   '... insufficient_scope');
