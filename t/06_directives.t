# 06_directives.t - the directives of the SPEC that show without the
# network: AuthLogtoRealm, AuthLogtoAlgorithms, AuthLogtoClockSkew,
# AuthLogtoRemoteUserClaim, AuthLogtoClaimHeader, AuthLogtoUnauthenticated,
# AuthLogtoCorsPreflight, AuthLogtoTokenCache, AuthLogtoResourceMetadata
# and the per-directory merge (inner wins, the rest is inherited).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use JSON::PP ();
use LogtoTest;

plan tests => 121;

my $PORT = Apache::Test::vars("port");
my $now = time;
my $res;
my $ch;
my $doc;

# Status and challenge of one request, as "STATUS error".
sub outcome
{
    my ($res) = @_;
    my $ch = challenge($res) || {};
    return join ' ', $res->code, $ch->{error} // '-';
}

# ------------------------------------------------------- AuthLogtoRealm
$ch = challenge(GET('/lt/valid-user/')) || {};
is($ch->{realm}, 'lt', 'AuthLogtoRealm: set realm');
$ch = challenge(GET('/ltd/no-realm/')) || {};
is($ch->{realm}, '127.0.0.1', 'AuthLogtoRealm unset: the server name');
$ch = challenge(get_bearer('/ltd/no-realm/', tamper_signature(token())))
    || {};
is($ch->{realm}, '127.0.0.1', 'AuthLogtoRealm unset: invalid_token too');
$ch = challenge(GET('/ltd/no-realm/', Host => 'attacker.example')) || {};
is($ch->{realm}, '127.0.0.1',
   'AuthLogtoRealm unset: the ServerName, never the client\'s Host')
    or diag($ch->{raw});
is(get_bearer('/ltd/no-realm/', token())->code, 200,
   'location without realm: valid token 200');

# -------------------------------------------------- AuthLogtoAlgorithms
is(outcome(get_bearer('/lt/alg-rs256/', token(kid => 'rs256-1'))), '200 -',
   'AuthLogtoAlgorithms RS256: RS256 token 200');
is(outcome(get_bearer('/lt/alg-rs256/', token())), '401 invalid_token',
   'AuthLogtoAlgorithms RS256: ES384 token 401');
is(outcome(get_bearer('/lt/alg-rs256/', token(kid => 'ed-1'))),
   '401 invalid_token', 'AuthLogtoAlgorithms RS256: EdDSA token 401');
is(outcome(get_bearer('/lt/valid-user/', token())), '200 -',
   'default algorithms: ES384 200');
is(outcome(get_bearer('/lt/valid-user/', token(kid => 'ed-1'))), '200 -',
   'default algorithms: EdDSA 200');

# --------------------------------------------------- AuthLogtoClockSkew
my $exp30 = token(claims => { exp => $now - 30, iat => $now - 600 });
my $nbf30 = token(claims => { nbf => $now + 30 });
my $iat30 = token(claims => { iat => $now + 30 });
my $exp90 = token(claims => { exp => $now - 90, iat => $now - 600 });
is(outcome(get_bearer('/lt/skew0/', $exp30)), '401 invalid_token',
   'skew 0: expired 30 s ago 401');
like((challenge(get_bearer('/lt/skew0/', $exp30)) || {})->{error_description}
     // '', qr/expired/i, 'skew 0: says expired');
is(outcome(get_bearer('/lt/skew60/', $exp30)), '200 -',
   'skew 60: expired 30 s ago 200');
is(outcome(get_bearer('/lt/valid-user/', $exp30)), '200 -',
   'default skew: expired 30 s ago 200');
is(outcome(get_bearer('/lt/skew60/', $exp90)), '401 invalid_token',
   'skew 60: expired 90 s ago 401');
is(outcome(get_bearer('/lt/skew0/', $nbf30)), '401 invalid_token',
   'skew 0: nbf in 30 s 401');
is(outcome(get_bearer('/lt/skew60/', $nbf30)), '200 -',
   'skew 60: nbf in 30 s 200');
is(outcome(get_bearer('/lt/skew0/', $iat30)), '401 invalid_token',
   'skew 0: iat in 30 s 401');
is(outcome(get_bearer('/lt/skew60/', $iat30)), '200 -',
   'skew 60: iat in 30 s 200');

# --------------------------------------------- AuthLogtoRemoteUserClaim
$res = get_bearer('/lt/user-claim/', token(claims => { client_id => 'app-7' }));
is($res->code, 200, 'remote user claim: 200');
is($res->header('X-Remote-User'), 'app-7', 'REMOTE_USER from client_id');
is(outcome(get_bearer('/lt/user-claim/',
                      token(claims => { client_id => 7 }))),
   '401 invalid_token', 'remote user claim not a string: 401');
# An integer is its decimal text; anything else, or text that could not
# be handed on, is no user: refused, never an empty REMOTE_USER.
$res = get_bearer('/lt/user-claim/custom/',
                  token(claims => { custom => { uid => 42 } }));
is($res->code, 200, 'remote user claim an integer: 200');
is($res->header('X-Remote-User'), '42',
   'remote user claim an integer: REMOTE_USER is its decimal text');
for my $case (['1.5', 1.5, 'custom.uid claim not a string'],
              ['true', JSON::PP::true, 'custom.uid claim not a string'],
              ['an array', ['a'], 'custom.uid claim not a string'],
              ['empty', '', 'token has no custom.uid claim'],
              ['with a tab', "a\tb", 'custom.uid claim holds control characters'],
              ['with U+0085', "a\x{85}b",
               'custom.uid claim holds control characters']) {
    my ($name, $uid, $want) = @$case;
    $res = get_bearer('/lt/user-claim/custom/',
                      token(claims => { custom => { uid => $uid } }));
    is(outcome($res), '401 invalid_token', "remote user claim $name: 401");
    is((challenge($res) || {})->{error_description}, $want,
       "remote user claim $name: says why");
}
$res = get_bearer('/lt/user-claim/custom/', token());
is((challenge($res) || {})->{error_description},
   'token has no custom.uid claim', 'remote user claim missing: says so');

# ------------------------------------------------- AuthLogtoClaimHeader
$res = get_bearer('/lt/claim-header/',
                  token(claims => { custom => { tier => 'gold' } }),
                  'X-Claim-Tier' => 'spoofed');
is($res->code, 200, 'claim header: 200');
is($res->header('X-Got-Client'), 'client-1', 'claim header: client_id');
is($res->header('X-Got-Tier'), 'gold', 'claim header: dotted path');
$res = get_bearer('/lt/claim-header/', token(),
                  'X-Claim-Tier' => 'spoofed');
is($res->header('X-Got-Tier') // '', '',
   'claim header: claim absent, the client\'s header removed');

# --------------------------------------------- AuthLogtoUnauthenticated
$res = GET('/lt/pass-all/');
is($res->code, 200, 'pass, Require all granted: no token 200');
like($res->content, qr/^ok$/m, 'pass: content served');
is(outcome(get_bearer('/lt/pass-all/', tamper_signature(token()))),
   '401 invalid_token', 'pass: invalid token still 401');
is(outcome(get_bearer('/lt/pass-all/', token(claims => {
    exp => $now - 3600, iat => $now - 7200 }))),
   '401 invalid_token', 'pass: expired token still 401');
is(outcome(get_auth('/lt/pass-all/', 'Basic dXNlcjpwYXNz')),
   '200 -', 'pass: Basic credentials are no token, anonymous 200');
is(outcome(get_auth('/lt/pass-all/', 'Bearer')),
   '400 invalid_request', 'pass: Bearer without a token still 400');
is(outcome(get_bearer('/lt/pass-all/', token())), '200 -',
   'pass: valid token 200');
# Require expr with logto_claim(): no token is a 403 (the expression is
# false, and names no user); Require logto-claim asks for a token.
is(outcome(GET('/lt/pass-expr/')), '403 -',
   'pass, Require expr logto_claim(): no token 403');
is(outcome(get_bearer('/lt/pass-expr/',
                      token(claims => { custom => { tier => 'gold' } }))),
   '200 -', 'pass, Require expr logto_claim(): the claim met 200');
is(outcome(GET('/lt/pass-claim/')), '401 -',
   'pass, Require logto-claim: no token 401');
is(outcome(get_bearer('/lt/pass-claim/',
                      token(claims => { custom => { tier => 'silver' } }))),
   '403 -', 'pass, Require logto-claim: the claim not met 403');
is(outcome(get_bearer('/lt/pass-claim/',
                      token(claims => { custom => { tier => 'gold' } }))),
   '200 -', 'pass, Require logto-claim: the claim met 200');
$res = GET('/lt/pass-scope/');
is(outcome($res), '401 -', 'pass, Require logto-scope: no token 401');
is((challenge($res) || {})->{realm}, 'lt', 'pass: challenge realm');
is(outcome(get_bearer('/lt/pass-scope/', token(claims => { scope => 's:a' }))),
   '200 -', 'pass, Require logto-scope: scope 200');
is(outcome(get_bearer('/lt/pass-scope/', token())),
   '403 insufficient_scope', 'pass, Require logto-scope: no scope 403');
is(outcome(GET('/lt/valid-user/')), '401 -', 'deny (default): no token 401');

# ----------------------------------------------- AuthLogtoCorsPreflight
my @preflight = (Origin => 'https://app.example.com',
                 'Access-Control-Request-Method' => 'GET');
$res = Apache::TestRequest::OPTIONS('/lt/cors-pass/', @preflight);
ok($res->code != 401 && $res->code < 500, 'cors pass: preflight not 401')
    or diag($res->as_string);
ok(!challenge($res), 'cors pass: no challenge');
is(Apache::TestRequest::OPTIONS('/lt/cors-pass/',
                                Origin => 'https://app.example.com')->code,
   401, 'cors pass: OPTIONS without Access-Control-Request-Method 401');
is(Apache::TestRequest::OPTIONS('/lt/cors-pass/')->code, 401,
   'cors pass: plain OPTIONS 401');
is(GET('/lt/cors-pass/', @preflight)->code, 401,
   'cors pass: GET with the preflight headers 401');
is(Apache::TestRequest::OPTIONS('/lt/cors-auth/', @preflight)->code, 401,
   'cors auth: preflight 401');
is(outcome(Apache::TestRequest::OPTIONS('/lt/cors-pass/', @preflight,
    Authorization => 'Bearer ' . tamper_signature(token()))),
   '401 invalid_token', 'cors pass: preflight with an invalid token 401');
# Another scheme is no token, for a preflight too.
$res = Apache::TestRequest::OPTIONS('/lt/cors-pass/', @preflight,
                                    Authorization => 'Basic dXNlcjpwYXNz');
ok($res->code != 401 && $res->code < 500,
   'cors pass: preflight with Basic credentials not 401')
    or diag($res->as_string);
ok(!challenge($res), '... and no challenge');
is(outcome(Apache::TestRequest::OPTIONS('/lt/cors-pass/', @preflight,
    Authorization => 'Basic dXNlcjpwYXNz, Bearer ' . tamper_signature(token()))),
   '400 invalid_request', 'cors pass: preflight with Basic and a Bearer 400');
is(outcome(Apache::TestRequest::OPTIONS('/lt/cors-pass/', @preflight,
    Authorization => 'DPoP ' . tamper_signature(token()))),
   '401 -', 'cors pass: preflight with a DPoP token is verified (401)');
is(outcome(Apache::TestRequest::OPTIONS('/lt/cors-pass/', @preflight,
    Authorization => 'Basic ' . ('a' x (16 * 1024 + 1)))),
   '400 invalid_request', 'cors pass: preflight with a header over 16 KiB 400');
is(outcome(Apache::TestRequest::OPTIONS('/lt/cors-auth/', @preflight,
    Authorization => 'Basic dXNlcjpwYXNz')),
   '401 -', 'cors auth: preflight with Basic credentials 401, no token');

# -------------------------------------------------- AuthLogtoTokenCache
my $jwt = token();
for my $i (1 .. 3) {
    is(get_bearer('/lt/no-token-cache/', $jwt)->code, 200,
       "token cache Off: valid token, request $i");
}
is(outcome(get_bearer('/lt/no-token-cache/', tamper_signature($jwt))),
   '401 invalid_token', 'token cache Off: tampered token 401');
# With the cache on, a token seen before is checked again for time.
# (the clock read now, not at the start of the file: on a loaded machine
# the tests above can take longer than the token lives)
my $short = token(claims => { exp => time + 3, iat => time });
is(get_bearer('/lt/skew0/', $short)->code, 200, 'token cache: short token 200');
sleep 5;
is(outcome(get_bearer('/lt/skew0/', $short)), '401 invalid_token',
   'token cache: the same token once expired 401');

# -------------------------------------------- AuthLogtoResourceMetadata
# The members RFC 9728 section 2 defines: a document carries no other.
my %RFC9728 = map { $_ => 1 } qw(
    resource authorization_servers jwks_uri scopes_supported
    bearer_methods_supported resource_signing_alg_values_supported
    resource_name resource_documentation resource_policy_uri
    resource_tos_uri tls_client_certificate_bound_access_tokens
    authorization_details_types_supported dpop_signing_alg_values_supported
    dpop_bound_access_tokens_required
);
# /ltm/ names issuer, audience and the metadata path in one location.
my $MDM = '/.well-known/oauth-protected-resource/ltm';
$res = GET($MDM);
is($res->code, 200, 'metadata of /ltm/: 200') or diag($res->as_string);
$doc = eval { JSON::PP->new->decode($res->content) } || {};
is($doc->{resource}, 'https://api.example.com/mcp',
   'metadata of /ltm/: resource');
is_deeply($doc->{authorization_servers}, [ISSUER],
          'metadata of /ltm/: authorization_servers');
$ch = challenge(GET('/ltm/')) || {};
is($ch->{resource_metadata}, "http://127.0.0.1:$PORT$MDM",
   'metadata of /ltm/: named in the challenge');
$res = Apache::TestRequest::POST($MDM, content => 'x');
is($res->code, 405, 'metadata: POST 405');
like($res->header('Allow') // '', qr/\bGET\b/, 'metadata: 405 allows GET')
    or diag($res->as_string);
is_deeply([grep { !$RFC9728{$_} } sort keys %$doc], [],
          'metadata of /ltm/: RFC 9728 members only');
ok(!exists $doc->{scopes_supported},
   'metadata of /ltm/: no scopes_supported without Require logto-scope');
is_deeply($doc->{bearer_methods_supported}, ['header'],
          'metadata: bearer_methods_supported is ["header"]');

# /ltmp/ protects everything under it, its document's path included: the
# document is served all the same, to clients that have no token yet.
my $MDP = '/ltmp/.well-known/oauth-protected-resource';
$res = GET($MDP);
is($res->code, 200, 'metadata inside its protected location: 200 without a '
   . 'token') or diag($res->as_string);
$doc = eval { JSON::PP->new->decode($res->content) } || {};
is($doc->{resource}, 'https://api.example.com/ltmp',
   'metadata inside its protected location: resource');
is(GET($MDP, Authorization => 'Bearer x.y.z')->code, 200,
   'metadata inside its protected location: a bad token does not matter');
$res = GET('/ltmp/other');
is($res->code, 401, 'metadata inside its protected location: the rest 401');
is((challenge($res) || {})->{resource_metadata}, "http://127.0.0.1:$PORT$MDP",
   'metadata inside its protected location: named in the challenge');
is(Apache::TestRequest::POST($MDP, content => 'x')->code, 405,
   'metadata inside its protected location: POST 405');
# ... and the location's other rules still apply to it (mod_headers)
$res = GET($MDP);
is($res->header('Access-Control-Allow-Origin'), '*',
   'metadata inside its protected location: its Header lines apply');
is($res->header('X-Ltmp'), 'headers apply',
   'metadata inside its protected location: the location\'s too');

# /ltms/ requires scopes: they are offered, each once, negated ones not.
$res = GET('/.well-known/oauth-protected-resource/ltms');
$doc = eval { JSON::PP->new->decode($res->content) } || {};
is_deeply($doc->{scopes_supported}, [qw(mcp:read mcp:admin)],
          'metadata of /ltms/: scopes_supported from its Require lines');
is_deeply([grep { !$RFC9728{$_} } sort keys %$doc], [],
          'metadata of /ltms/: RFC 9728 members only');

# /lt/metadata/ inherits issuer and audience from <Location /lt/>.
my $MD = '/.well-known/oauth-protected-resource';
$res = GET($MD);
is($res->code, 200, 'metadata: 200') or diag($res->as_string);
like($res->header('Content-Type') // '', qr{^application/json},
     'metadata: JSON');
$doc = eval { JSON::PP->new->decode($res->content) } || {};
is($doc->{resource}, AUDIENCE, 'metadata: resource is the audience');
is_deeply($doc->{authorization_servers}, [ISSUER],
          'metadata: authorization_servers is the issuer');
$ch = challenge(GET('/lt/metadata/')) || {};
is($ch->{resource_metadata}, "http://127.0.0.1:$PORT$MD",
   'metadata: named in the 401 challenge');
$ch = challenge(get_bearer('/lt/metadata/', tamper_signature(token()))) || {};
is($ch->{resource_metadata}, "http://127.0.0.1:$PORT$MD",
   'metadata: named in the invalid_token challenge');
$ch = challenge(GET('/lt/metadata/', Host => 'evil.example:666')) || {};
is($ch->{resource_metadata}, "http://127.0.0.1:$PORT$MD",
   'metadata: named from the server\'s name, never the client\'s Host');
$ch = challenge(GET('/lt/valid-user/')) || {};
ok(!exists $ch->{resource_metadata}, 'metadata: not named elsewhere');
is(get_bearer('/lt/metadata/', token())->code, 200,
   'metadata location: valid token 200');

# ------------------------------------------------- per-directory merge
# /lt/merge-aud/ overrides the audience, inherits issuer and keys;
# /lt/merge-aud/inner-iss/ overrides the issuer, inherits that audience.
my $ORDERS = 'https://api.example.com/orders';
my $OTHER_ISS = 'https://other.logto.app/oidc';
is(outcome(get_bearer('/lt/merge-aud/', token(claims => { aud => $ORDERS }))),
   '200 -', 'merge: inner audience accepted');
is(outcome(get_bearer('/lt/merge-aud/', token())), '401 invalid_token',
   'merge: outer audience no longer accepted');
is(outcome(get_bearer('/lt/merge-aud/', token(claims => {
    aud => $ORDERS, iss => $OTHER_ISS }))), '401 invalid_token',
   'merge: issuer inherited from the outer location');
is(outcome(get_bearer('/lt/merge-aud/inner-iss/', token(claims => {
    aud => $ORDERS, iss => $OTHER_ISS }))), '200 -',
   'merge: innermost issuer, audience of the middle location');
is(outcome(get_bearer('/lt/merge-aud/inner-iss/',
                      token(claims => { aud => $ORDERS }))),
   '401 invalid_token', 'merge: outer issuer no longer accepted');
$ch = challenge(GET('/lt/merge-aud/inner-iss/')) || {};
is($ch->{realm}, 'lt', 'merge: realm inherited two levels down');

# ------------------------- rows of the response table not in 03_tokens.t
# A token in the header and in the query string: 400 invalid_request.
is(outcome(get_bearer('/lt/valid-user/?access_token=' . token(), token())),
   '400 invalid_request', 'token in header and query: 400');
is(outcome(GET('/lt/valid-user/?x=1&access_token=' . token())),
   '400 invalid_request', 'token in the query only: 400');
# Keys that cannot be had (nothing listens there, nothing cached): 503,
# never a 500, and no challenge.
$res = get_bearer('/lt/no-keys/', token());
is($res->code, 503, 'no keys: 503') or diag($res->as_string);
ok(!defined $res->header('WWW-Authenticate'), 'no keys: no challenge');
# Retry-After (RFC 9110 section 10.2.3): by when the module will have
# tried the keys again, the lesser of JwksRefresh (300) and
# JwksMinRefresh (30) by default, never under the fetch timeout.
is($res->header('Retry-After'), '30', 'no keys: Retry-After 30');
$res = get_bearer('/lt/no-keys/soon/', token());
is(join(' ', $res->code, $res->header('Retry-After') // '-'), '503 10',
   'no keys, JwksRefresh 10: Retry-After 10');
$res = get_bearer('/lt/no-keys/soon/slow/', token());
is(join(' ', $res->code, $res->header('Retry-After') // '-'), '503 4',
   'no keys, refresh intervals 1, fetch timeout 4: Retry-After 4');
is(GET('/lt/no-keys/')->code, 401, 'no keys, no token: still 401');
# What is decided before any key: a token that could never verify is a
# 401 even when no keys can be had.
is(outcome(get_bearer('/lt/no-keys/',
                      unsigned_token(header => { alg => 'HS256' },
                                     signature => 'AAAA'))),
   '401 invalid_token', 'no keys, alg HS256: 401');
is(outcome(get_bearer('/lt/no-keys/', token(header => { kid => undef }))),
   '401 invalid_token', 'no keys, no kid: 401');
