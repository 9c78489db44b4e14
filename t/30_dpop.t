# 30_dpop.t - sender-constrained tokens: a token bound to a DPoP key
# (cnf.jkt) is never accepted as a bearer token and needs, with the DPoP
# scheme, a fresh proof of that key for this request; a token bound to a
# client certificate (cnf["x5t#S256"]) is refused without TLS. Proofs are
# made by Crypt::JWT (t/lib/LogtoDPoP.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET POST);
use LogtoDPoP;
use LogtoTest;
use JSON::PP ();

plan tests => 129;

my $key   = dpop_key();
my $other = dpop_key();
my $bound = token(claims => { cnf => { jkt => jkt($key) } });
my $plain = token();

# Every WWW-Authenticate challenge of a response, parsed, by scheme.
sub challenges
{
    my ($res) = @_;
    my %by;
    for my $v ($res->header('WWW-Authenticate')) {
        my $fake = HTTP::Response->new(401);
        $fake->header('WWW-Authenticate' => $v);
        my $ch = challenge($fake);
        $by{ $ch->{scheme} } = $ch;
    }
    return \%by;
}

# GET path with "DPoP token" and the proof (none when undef).
sub get_dpop
{
    my ($path, $token, $proof, @more) = @_;
    return GET($path, Authorization => "DPoP $token",
               (defined $proof ? (DPoP => $proof) : ()), @more);
}

# A proof of $key for GET path with $bound, overlaid with %o.
sub good
{
    my ($path, %o) = @_;
    return proof(key => $key, htm => 'GET', htu => url($path),
                 token => $bound, %o);
}

# Refused with 401 and error on the DPoP challenge, the description
# matching $why.
sub refused
{
    my ($res, $error, $why, $name) = @_;
    my $ch = challenges($res)->{DPoP} || {};
    is($res->code, 401, "$name: 401");
    is($ch->{error}, $error, "$name: error=$error");
    like($ch->{error_description} // '', $why, "$name: says why");
}

# ------------------------------------------------ binding never lost
for my $path ('/lt/b/', '/lt/dpop-off/', '/lt/dpop-required/') {
    my $res = get_bearer($path, $bound);
    my $all = join ' | ', $res->header('WWW-Authenticate');
    is($res->code, 401, "DPoP-bound token as Bearer at $path: 401");
    like($all, qr/error="invalid_token"/, "... invalid_token ($path)");
    like($all, qr/DPoP-bound/, "... says it is DPoP-bound ($path)");
}
{
    my $res = get_bearer('/lt/b/', $bound);
    my $ch = challenges($res);
    ok($ch->{Bearer} && $ch->{DPoP}, 'bound as Bearer: both challenges');
    like($ch->{DPoP}{algs} // '', qr/\bES256\b/, 'DPoP challenge names algs');
}
{
    my $cert = token(claims => { cnf => { 'x5t#S256' => b64url('x' x 32) } });
    my $res = get_bearer('/lt/b/', $cert);
    is($res->code, 401, 'certificate-bound token without TLS: 401');
    like(challenge($res)->{error_description} // '', qr/certificate/,
         '... says a certificate is needed');
    $res = get_dpop('/lt/b/', $cert, good('/lt/b/'));
    is($res->code, 401, 'certificate-bound token with the DPoP scheme: 401');
}
{
    my $odd = token(claims => { cnf => { jwk => public_jwk($key) } });
    is(get_bearer('/lt/b/', $odd)->code, 401,
       'token bound by a cnf method not understood: 401');
    is(get_bearer('/lt/b/', token(claims => { cnf => 'x' }))->code, 401,
       'cnf not an object: 401');
    is(get_bearer('/lt/b/', $plain)->code, 200, 'unbound Bearer token: 200');
}

# ------------------------------------------------ DPoP accepted
{
    my $res = get_dpop('/lt/b/', $bound, good('/lt/b/'));
    is($res->code, 200, 'DPoP token with a fresh proof: 200');
    is(get_dpop('/lt/b/', $bound, good('/lt/b/'))->code, 200,
       'the same token (token cache) with another fresh proof: 200');
    $res = GET('/lt/b/', Authorization => "dpop $bound", DPoP => good('/lt/b/'));
    is($res->code, 200, 'scheme name in any case: 200');
    $res = get_dpop('/lt/b/?x=1&y=2', $bound, good('/lt/b/'));
    is($res->code, 200, 'query not part of htu: 200');
    my $u = url('/lt/%7eb/./c/../') =~ s{^http://}{HTTP://}r;
    $res = get_dpop('/lt/~b/', $bound, good('/lt/b/', htu => $u));
    is($res->code, 200, 'htu compared after RFC 3986 normalisation: 200');
    $res = get_dpop('/lt/cgi-env/x', $bound, good('/lt/cgi-env/x'));
    like($res->content, qr/^LOGTO_CNF_JKT=\Q${\ jkt($key)}\E$/m,
         'LOGTO_CNF_JKT is the key thumbprint');
    $res = get_dpop('/lt/dpop-required/', $bound, good('/lt/dpop-required/'));
    is($res->code, 200, 'AuthLogtoDPoP Required: DPoP accepted');
    $res = get_dpop('/lt/dpop-base/x', $bound,
                    good('/lt/dpop-base/x',
                         htu => 'https://api.example.com/lt/dpop-base/x'));
    is($res->code, 200, 'AuthLogtoDPoPBaseURL: htu on the public URL: 200');
    my $rsa = dpop_key('rsa');
    my $rbound = token(claims => { cnf => { jkt => jkt($rsa) } });
    $res = get_dpop('/lt/b/', $rbound,
                    proof(key => $rsa, htu => url('/lt/b/'), token => $rbound));
    is($res->code, 200, 'RSA (PS256) proof key: 200');
    my $pr = good('/lt/b/', htm => 'POST');
    $res = POST('/lt/b/', Authorization => "DPoP $bound", DPoP => $pr);
    isnt($res->code, 401, 'POST with an htm POST proof: not refused');
}

# ------------------------------------------------ proofs refused
{
    my $p = good('/lt/b/');
    is(get_dpop('/lt/b/', $bound, $p)->code, 200, 'first use of a proof: 200');
    refused(get_dpop('/lt/b/', $bound, $p), 'invalid_dpop_proof', qr/replay/,
            'replayed proof (same jti)');
}
refused(get_dpop('/lt/b/', $bound, undef), 'invalid_dpop_proof',
        qr/missing/, 'no DPoP header');
refused(get_dpop('/lt/b/', $bound, good('/lt/b/') . ', ' . good('/lt/b/')),
        'invalid_dpop_proof', qr/more than one/, 'two DPoP proofs');
refused(get_dpop('/lt/b/', $bound, good('/lt/b/', htm => 'POST')),
        'invalid_dpop_proof', qr/htm/, 'proof for another method');
refused(get_dpop('/lt/b/', $bound, good('/lt/other/')),
        'invalid_dpop_proof', qr/htu/, 'proof for another URL');
refused(get_dpop('/lt/b/', $bound,
                 good('/lt/b/', htu => 'https://' . Apache::TestRequest::hostport() . '/lt/b/')),
        'invalid_dpop_proof', qr/htu/, 'proof for another scheme');
# The client's Host decides the URL, unless the server names itself.
is(get_dpop('/lt/b/', $bound,
            good('/lt/b/', htu => 'http://evil.example/lt/b/'),
            Host => 'evil.example')->code,
   200, 'UseCanonicalName Off: htu on the Host the client sent: 200');
refused(get_dpop('/lt/dpop-canonical/', $bound,
                 good('/lt/dpop-canonical/',
                      htu => 'http://evil.example/lt/dpop-canonical/'),
                 Host => 'evil.example'),
        'invalid_dpop_proof', qr/htu/,
        'UseCanonicalName On: htu on another Host');
is(get_dpop('/lt/dpop-canonical/', $bound, good('/lt/dpop-canonical/'),
            Host => 'evil.example')->code,
   200, 'UseCanonicalName On: htu on the server\'s name: 200');
refused(get_dpop('/lt/dpop-base/x', $bound, good('/lt/dpop-base/x')),
        'invalid_dpop_proof', qr/htu/,
        'AuthLogtoDPoPBaseURL: htu on the internal URL');
refused(get_dpop('/lt/b/', $bound, good('/lt/b/', token => $plain)),
        'invalid_dpop_proof', qr/ath/, 'proof for another token (ath)');
refused(get_dpop('/lt/b/', $bound, good('/lt/b/', claims => { ath => undef })),
        'invalid_dpop_proof', qr/ath/, 'proof without ath');
refused(get_dpop('/lt/b/', $bound,
                 proof(key => $other, htu => url('/lt/b/'), token => $bound)),
        'invalid_dpop_proof', qr/key/, 'proof by another key');
refused(get_dpop('/lt/b/', $bound,
                 good('/lt/b/', claims => { iat => time - 400 })),
        'invalid_dpop_proof', qr/old/, 'expired iat');
refused(get_dpop('/lt/b/', $bound,
                 good('/lt/b/', claims => { iat => time + 300 })),
        'invalid_dpop_proof', qr/future/, 'iat in the future');
refused(get_dpop('/lt/b/', $bound, good('/lt/b/', header => { typ => 'JWT' })),
        'invalid_dpop_proof', qr/typ/, 'typ JWT');
refused(get_dpop('/lt/b/', $bound,
                 good('/lt/b/', alg => 'HS256', sign_key => 'k' x 32)),
        'invalid_dpop_proof', qr/algorithm/, 'symmetric alg');
{
    my %priv = %{ $key->export_key_jwk('private', 1) };
    refused(get_dpop('/lt/b/', $bound, good('/lt/b/', jwk => \%priv)),
            'invalid_dpop_proof', qr/private/, 'jwk with private members');
}
refused(get_dpop('/lt/b/', $bound, good('/lt/b/', sign_key => $other)),
        'invalid_dpop_proof', qr/signature/, 'signature by another key');
refused(get_dpop('/lt/b/', $bound, good('/lt/b/', claims => { jti => undef })),
        'invalid_dpop_proof', qr/jti/, 'no jti');
# A proof's alg is the client's key's: AuthLogtoAlgorithms names the
# tokens' algorithms (Logto's ES384) and does not narrow the proofs'.
is(get_dpop('/lt/dpop-es384/', $bound, good('/lt/dpop-es384/'))->code, 200,
   'an ES256 proof where tokens must be ES384: 200');
{
    my $res = get_dpop('/lt/dpop-es384/', $bound);
    like((challenges($res)->{DPoP} || {})->{algs} // '', qr/\bES256\b/,
         'where tokens must be ES384: the challenge offers ES256 proofs');
}

# ------------------------------------------------ schemes and modes
{
    my $res = get_dpop('/lt/b/', $plain,
                       proof(key => $key, htu => url('/lt/b/'), token => $plain));
    my $ch = challenges($res);
    is($res->code, 401, 'DPoP scheme with an unbound token: 401');
    is($ch->{DPoP}{error}, 'invalid_token', '... invalid_token');
    $res = get_dpop('/lt/dpop-off/', $bound, good('/lt/dpop-off/'));
    $ch = challenges($res);
    is($res->code, 401,
       'AuthLogtoDPoP Off: the DPoP scheme is another scheme: no token');
    ok(!$ch->{DPoP}, '... DPoP not offered');
    ok($ch->{Bearer} && !exists $ch->{Bearer}{error},
       '... the Bearer challenge has no error attribute (RFC 6750 3.1)');
    $res = GET('/lt/dpop-off/',
               Authorization => "Basic dXNlcjpwdw==, DPoP $bound");
    is($res->code, 401, '... and beside another credential, still no token');
    $res = GET('/lt/b/', Authorization => "Basic dXNlcjpwdw==, DPoP $bound");
    is($res->code, 400, 'where DPoP is on, a DPoP token beside another '
       . 'credential is a malformed request');
    $res = get_bearer('/lt/dpop-required/', $plain);
    $ch = challenges($res);
    is($res->code, 401, 'AuthLogtoDPoP Required: Bearer token refused');
    ok($ch->{DPoP} && !$ch->{Bearer}, '... only the DPoP challenge');
    is($ch->{DPoP}{error}, 'invalid_token', '... invalid_token');
    $res = GET('/lt/dpop-required/');
    $ch = challenges($res);
    ok($ch->{DPoP} && !$ch->{DPoP}{error}, 'Required, no token: DPoP challenge, no error');
    $res = get_dpop('/lt/b/', 'not-a-jwt', good('/lt/b/'));
    $ch = challenges($res);
    is($ch->{DPoP}{error}, 'invalid_token', 'bad token, DPoP scheme: invalid_token');
    ok($ch->{Bearer} && !$ch->{Bearer}{error}, '... the Bearer challenge bare');
    $res = GET('/lt/b/');
    is(scalar(() = $res->header('WWW-Authenticate')), 1,
       'no token at a DPoP On location: one challenge (RFC 6750)');
}

# ------------------------------------------------ status and metadata
{
    my $st = eval { JSON::PP->new->decode(GET('/logto-status?json')->content) }
        || {};
    my $r = $st->{refusals} || {};
    cmp_ok($r->{dpop_replay} // 0, '>=', 1, 'status counts replayed proofs');
    cmp_ok($r->{dpop_bound_as_bearer} // 0, '>=', 3,
           'status counts bound tokens sent as Bearer');
    cmp_ok($r->{dpop_htu_mismatch} // 0, '>=', 3, 'status counts htu refusals');
    my $md = eval { JSON::PP->new->decode(
        GET('/.well-known/oauth-protected-resource')->content) } || {};
    ok(defined $md->{tls_client_certificate_bound_access_tokens}
           && !$md->{tls_client_certificate_bound_access_tokens},
       'metadata over plain HTTP: tls_client_certificate_bound_access_tokens '
           . 'false (a certificate-bound token cannot be used here)');
    ok(defined $md->{dpop_bound_access_tokens_required}
           && !$md->{dpop_bound_access_tokens_required},
       'metadata: dpop_bound_access_tokens_required false under On');
    ok((grep { $_ eq 'ES256' } @{ $md->{dpop_signing_alg_values_supported} || [] }),
       'metadata: dpop_signing_alg_values_supported names ES256');
}

# ------------------------------------------------ server nonces (RFC 9449 9)
{
    my $path = '/lt/dpop-nonce/';
    my $res = get_dpop($path, $bound, good($path));
    my $ch = challenges($res)->{DPoP} || {};
    my $nonce = $res->header('DPoP-Nonce');
    is($res->code, 401, 'AuthLogtoDPoPNonce On, proof without nonce: 401');
    is($ch->{error}, 'use_dpop_nonce', '... error use_dpop_nonce');
    like($nonce // '', qr/^[A-Za-z0-9_-]{20,}$/, '... and a DPoP-Nonce header');
    $res = get_dpop($path, $bound, good($path, claims => { nonce => $nonce }));
    is($res->code, 200, 'proof with the server nonce: 200');
    is(get_dpop($path, $bound, good($path, claims => { nonce => $nonce }))->code,
       200, 'the nonce serves more than one proof');
    (my $forged = $nonce) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
    $res = get_dpop($path, $bound, good($path, claims => { nonce => $forged }));
    is($res->code, 401, 'a forged nonce: 401');
    is((challenges($res)->{DPoP} || {})->{error}, 'use_dpop_nonce',
       '... use_dpop_nonce');
    ok($res->header('DPoP-Nonce'), '... with a fresh nonce');
    $res = get_dpop($path, $bound, good($path, claims => { nonce => 'x' }));
    is($res->code, 401, 'a nonce that is no nonce of ours: 401');
    is(get_dpop('/lt/b/', $bound, good('/lt/b/', claims => { nonce => 'x' }))->code,
       200, 'AuthLogtoDPoPNonce Off: a nonce claim is ignored');
}

# ------------------------------------------------ authorization after DPoP
{
    my $path = '/lt/scope-and/';
    my $res = get_dpop($path, $bound, good($path));
    my $ch = challenges($res);
    is($res->code, 403, 'DPoP token short of scopes: 403, never 401');
    is(($ch->{DPoP} || {})->{error}, 'insufficient_scope',
       '... the DPoP challenge says insufficient_scope');
    is(($ch->{DPoP} || {})->{scope}, 's:a s:b', '... and names the scopes');
    ok($ch->{Bearer} && !$ch->{Bearer}{error}, '... the Bearer one is bare');
}

# ------------------------------------------- the DPoP request line itself
{
    my $res = get_dpop('/lt/b/', $bound, good('/lt/b/'));
    is($res->code, 200, 'DPoP request: 200');
    $res = get_dpop('/lt/b/', $bound, undef);
    my ($raw) = grep { /^DPoP\b/ } $res->header('WWW-Authenticate');
    like($raw // '', qr/^DPoP algs="[^"]*\bES256\b[^"]*", realm="/,
         'the DPoP challenge leads with algs, as RFC 9449 writes it');
    for my $c (['DPoP', 'no token'], ['DPoP a b', 'two words']) {
        my ($value, $name) = @$c;
        $res = GET('/lt/b/', Authorization => $value);
        is($res->code, 400, "DPoP scheme, $name: 400");
        is((challenges($res)->{DPoP} || {})->{error}, 'invalid_request',
           "... invalid_request on the DPoP challenge ($name)");
    }
    # the size is checked before the scheme is read: a Bearer 400
    $res = GET('/lt/b/', Authorization => 'DPoP ' . ('a' x (16 * 1024 + 1)));
    is($res->code, 400, 'DPoP scheme over 16 KiB: 400');
    is((challenges($res)->{Bearer} || {})->{error}, 'invalid_request',
       '... invalid_request');
    $res = GET('/lt/b/', Authorization => 'Basic ' . ('a' x (16 * 1024 + 1)));
    is($res->code, 400, 'another scheme over 16 KiB: 400 as well');
}
