#!/usr/bin/perl
# mint.pl - keys and tokens for the unit tests, made by an implementation
# independent of the module (Crypt::JWT over CryptX).
#
# Prints one "name value" line per item: the public JWK Set "jwks" (kids
# k-es384, k-es256, k-rsa, k-ed), single public JWKs "jwk_<name>", their
# RFC 7638 thumbprints "tp_<name>", and tokens "token_<name>" signed with
# them (typ at+jwt, a kid unless the name says nokid).
#
#   perl mint.pl [--exp SECONDS] [--iat SECONDS]
use strict;
use warnings;

use Crypt::JWT qw(encode_jwt);
use Crypt::Digest::SHA256 qw(sha256_b64u);
use Crypt::Misc qw(encode_b64u);
use Crypt::PK::ECC;
use Crypt::PK::Ed25519;
use Crypt::PK::RSA;
use Getopt::Long;
use JSON::PP;

my $iat = 1700000000;
my $exp = 4102444800;
GetOptions('exp=i' => \$exp, 'iat=i' => \$iat) or die "usage: $0 [--exp N] [--iat N]\n";

my $json = JSON::PP->new->canonical;
my %claims = (
    iss       => 'https://tenant.logto.app/oidc',
    aud       => 'https://api.example.com/products',
    sub       => 'user-1',
    client_id => 'client-1',
    scope     => 'read:products write:products',
    iat       => $iat,
    exp       => $exp,
    jti       => 'jti-1',
);

my %key = (
    es384   => Crypt::PK::ECC->new->generate_key('secp384r1'),
    es256   => Crypt::PK::ECC->new->generate_key('secp256r1'),
    rsa     => Crypt::PK::RSA->new->generate_key(256, 65537),
    ed      => Crypt::PK::Ed25519->new->generate_key,
    rsa1024 => Crypt::PK::RSA->new->generate_key(128, 65537),
);
# What each key's JWK carries besides its material: Logto's EC keys name
# their alg, its RSA keys do not.
my %extra = (
    es384   => { kid => 'k-es384', use => 'sig', alg => 'ES384' },
    es256   => { kid => 'k-es256', use => 'sig', alg => 'ES256' },
    rsa     => { kid => 'k-rsa', use => 'sig' },
    ed      => { kid => 'k-ed', alg => 'EdDSA' },
    rsa1024 => { kid => 'k-rsa1024', use => 'sig' },
);

sub jwk {
    my ($name) = @_;
    my $jwk = $key{$name}->export_key_jwk('public', 1);
    return { %$jwk, %{ $extra{$name} } };
}

sub token {
    my ($name, $alg, %opt) = @_;
    my %hdr = (typ => 'at+jwt');
    $hdr{kid} = $extra{$name}{kid} unless $opt{nokid};
    return encode_jwt(payload => \%claims, alg => $alg, key => $key{$name},
                      extra_headers => \%hdr);
}

# The same claims signed with ECDSA but sent as the DER signature
# OpenSSL-based code would produce, which JWS forbids.
sub der_token {
    my $hdr = encode_b64u($json->encode({ alg => 'ES384', typ => 'at+jwt',
                                          kid => 'k-es384' }));
    my $body = encode_b64u($json->encode(\%claims));
    my $sig = $key{es384}->sign_message("$hdr.$body", 'SHA384');
    return "$hdr.$body." . encode_b64u($sig);
}

# RFC 7638; CryptX has no thumbprint for Ed25519 keys, so for those the
# canonical members are hashed here.
sub thumbprint {
    my ($name) = @_;
    my $k = $key{$name};
    return $k->export_key_jwk_thumbprint('SHA256') if $k->can('export_key_jwk_thumbprint');
    my $jwk = $k->export_key_jwk('public', 1);
    return sha256_b64u(sprintf('{"crv":"%s","kty":"%s","x":"%s"}', @$jwk{qw(crv kty x)}));
}

my @usable = map { jwk($_) } qw(es384 es256 rsa ed);
print "jwks ", $json->encode({ keys => \@usable }), "\n";
for my $name (sort keys %key) {
    print "jwk_$name ", $json->encode(jwk($name)), "\n";
    print "tp_$name ", thumbprint($name), "\n";
}
print "token_es384 ", token('es384', 'ES384'), "\n";
print "token_es384_nokid ", token('es384', 'ES384', nokid => 1), "\n";
print "token_es384_der ", der_token(), "\n";
print "token_es256 ", token('es256', 'ES256'), "\n";
print "token_rs256 ", token('rsa', 'RS256'), "\n";
print "token_rs512 ", token('rsa', 'RS512'), "\n";
print "token_ps256 ", token('rsa', 'PS256'), "\n";
print "token_ps384 ", token('rsa', 'PS384'), "\n";
print "token_eddsa ", token('ed', 'EdDSA'), "\n";
print "token_rsa1024 ", token('rsa1024', 'RS256'), "\n";
