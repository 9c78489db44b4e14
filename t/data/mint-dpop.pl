#!/usr/bin/perl
# mint-dpop.pl - DPoP proofs (RFC 9449) for the unit tests, made by an
# implementation independent of the module (Crypt::JWT over CryptX), and a
# client certificate made by openssl with its x5t#S256.
#
# Prints one "name value" line per item: "jkt_<key>" thumbprints (RFC
# 7638, by CryptX), the access token "token" the proofs are for, and
# "proof_<case>" proofs, all for GET https://api.example.com/products at
# iat 1700000000 unless the case says otherwise; "cert_pem" (newlines as
# '|') and "cert_x5t".
use strict;
use warnings;

use Crypt::Digest::SHA256 qw(sha256_b64u);
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::Ed25519;
use Crypt::PK::RSA;
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(encode_base64url decode_base64);

my $IAT = 1700000000;
my $HTU = 'https://api.example.com/products';
my $TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl';

my %key = (
    es256 => Crypt::PK::ECC->new->generate_key('secp256r1'),
    es384 => Crypt::PK::ECC->new->generate_key('secp384r1'),
    other => Crypt::PK::ECC->new->generate_key('secp256r1'),
    rsa   => Crypt::PK::RSA->new->generate_key(256, 65537),
    ed    => Crypt::PK::Ed25519->new->generate_key,
);
my %alg = (es256 => 'ES256', es384 => 'ES384', other => 'ES256',
           rsa => 'PS256', ed => 'EdDSA');

print "token $TOKEN\n";
# CryptX has no thumbprint for Ed25519 keys: RFC 7638 section 3.2 by hand.
sub thumbprint
{
    my ($k) = @_;
    return $k->export_key_jwk_thumbprint('SHA256') if $k->can('export_key_jwk_thumbprint');
    my $j = $k->export_key_jwk('public', 1);
    return sha256_b64u(qq({"crv":"$j->{crv}","kty":"$j->{kty}","x":"$j->{x}"}));
}
print "jkt_$_ ", thumbprint($key{$_}), "\n" for sort keys %key;

my $n = 0;

# A proof by key k (es256 by default); claims and header overlay the
# defaults, an undef value removes a member.
sub proof
{
    my (%a) = @_;
    my $k = $a{key} // 'es256';
    my %claims = (jti => 'jti-' . ++$n, htm => 'GET', htu => $HTU,
                  iat => $IAT, ath => sha256_b64u($TOKEN));
    my %header = (typ => 'dpop+jwt', jwk => $key{$k}->export_key_jwk('public', 1));
    for (keys %{ $a{claims} || {} }) {
        defined $a{claims}{$_} ? ($claims{$_} = $a{claims}{$_}) : delete $claims{$_};
    }
    for (keys %{ $a{header} || {} }) {
        defined $a{header}{$_} ? ($header{$_} = $a{header}{$_}) : delete $header{$_};
    }
    return encode_jwt(payload => \%claims, alg => $a{alg} // $alg{$k},
                      key => $a{sign} // $key{$k}, extra_headers => \%header);
}

# A JWS built by hand, for what a signing library refuses to make.
sub unsigned
{
    my ($header, $claims) = @_;
    my $json = JSON::PP->new->canonical;
    return join '.', encode_base64url($json->encode($header)),
        encode_base64url($json->encode($claims)), '';
}

my %proof = (
    good          => proof(),
    es384         => proof(key => 'es384'),
    rsa           => proof(key => 'rsa'),
    ed            => proof(key => 'ed'),
    other_key     => proof(key => 'other'),
    typ_app       => proof(header => { typ => 'application/dpop+jwt' }),
    typ_jwt       => proof(header => { typ => 'JWT' }),
    typ_none      => proof(header => { typ => undef }),
    hs256         => proof(alg => 'HS256', sign => 'k' x 32),
    alg_none      => unsigned({ alg => 'none', typ => 'dpop+jwt',
                                jwk => $key{es256}->export_key_jwk('public', 1) },
                              { jti => 'x', htm => 'GET', htu => $HTU, iat => $IAT }),
    private_d     => proof(header => { jwk => $key{es256}->export_key_jwk('private', 1) }),
    no_jwk        => proof(header => { jwk => undef }),
    jwk_oct       => proof(header => { jwk => { kty => 'oct', k => 'c2VjcmV0c2VjcmV0' } }),
    jwk_other     => proof(header => { jwk => $key{other}->export_key_jwk('public', 1) }),
    alg_mismatch  => proof(key => 'es384', alg => 'ES256',
                           sign => $key{es256}),
    crit          => proof(header => { crit => ['x'], x => 1 }),
    no_jti        => proof(claims => { jti => undef }),
    no_htm        => proof(claims => { htm => undef }),
    no_htu        => proof(claims => { htu => undef }),
    no_iat        => proof(claims => { iat => undef }),
    iat_string    => proof(claims => { iat => "$IAT" }),
    ath_number    => proof(claims => { ath => 1 }),
    no_ath        => proof(claims => { ath => undef }),
    ath_other     => proof(claims => { ath => sha256_b64u('other-token') }),
    post          => proof(claims => { htm => 'POST' }),
    get_lower     => proof(claims => { htm => 'get' }),
    htu_other     => proof(claims => { htu => 'https://api.example.com/orders' }),
    htu_host      => proof(claims => { htu => 'https://evil.example.com/products' }),
    htu_http      => proof(claims => { htu => 'http://api.example.com/products' }),
    htu_port      => proof(claims => { htu => 'https://api.example.com:8443/products' }),
    htu_norm      => proof(claims => { htu => 'HTTPS://API.Example.COM:443/x/../%70roducts' }),
    htu_query     => proof(claims => { htu => "$HTU?a=1#frag" }),
    htu_relative  => proof(claims => { htu => '/products' }),
    htu_userinfo  => proof(claims => { htu => 'https://u@api.example.com/products' }),
    old           => proof(claims => { iat => $IAT - 400 }),
    future        => proof(claims => { iat => $IAT + 120 }),
);
print "proof_$_ $proof{$_}\n" for sort keys %proof;

# A self-signed client certificate, and its thumbprint computed from the
# DER that openssl writes.
my $dir = tempdir(CLEANUP => 1);
system('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
       'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$dir/k.pem",
       '-out', "$dir/c.pem", '-subj', '/CN=client-a', '-days', '1') == 0
    or die "openssl req failed\n";
system("openssl x509 -in '$dir/c.pem' -outform DER -out '$dir/c.der'") == 0
    or die "openssl x509 failed\n";
my $pem = do { local (@ARGV, $/) = "$dir/c.pem"; <> };
my $der = do { local (@ARGV, $/) = "$dir/c.der"; binmode ARGV; <> };
$pem =~ s/\n/|/g;
print "cert_pem $pem\n";
print "cert_x5t ", sha256_b64u($der), "\n";
