#!/usr/bin/perl
# make-jwks.pl - write the public JWK sets the httpd tests serve from the
# test-only private keys next to this script:
#   jwks.json       es384-1, rs256-1, es256-1, ed-1
#   jwks-weak.json  weak-rsa (1024 bits, which the module must refuse)
#   jwks-issuer-a.json, jwks-issuer-b.json
#                   es384-1 and es384-2, as "shared" too: two issuers
#                   that publish the same kid for different keys
# EC and OKP keys carry "alg"; RSA keys carry none, as Logto serves them.
# Run it again after replacing a key: perl t/keys/make-jwks.pl
use strict;
use warnings;

use Crypt::PK::ECC;
use Crypt::PK::Ed25519;
use Crypt::PK::RSA;
use File::Basename qw(dirname);
use JSON::PP;

my $dir = dirname(__FILE__);

# kid => [key class, "alg" member or undef]
my %keys = (
    'es384-1'  => ['Crypt::PK::ECC',     'ES384'],
    'es384-2'  => ['Crypt::PK::ECC',     'ES384'],
    'es256-1'  => ['Crypt::PK::ECC',     'ES256'],
    'rs256-1'  => ['Crypt::PK::RSA',     undef],
    'weak-rsa' => ['Crypt::PK::RSA',     undef],
    'ed-1'     => ['Crypt::PK::Ed25519', 'EdDSA'],
);

sub public_jwk
{
    my ($kid) = @_;
    my ($class, $alg) = @{ $keys{$kid} };
    my $pk = $class->new("$dir/$kid.pem");
    my $jwk = $pk->export_key_jwk('public', 1);
    $jwk->{kid} = $kid;
    $jwk->{use} = 'sig';
    $jwk->{alg} = $alg if defined $alg;
    return $jwk;
}

# A key under another kid name than its own: "kid=name".
sub jwk_of
{
    my ($spec) = @_;
    my ($kid, $name) = split /=/, $spec;
    my $jwk = public_jwk($kid);
    $jwk->{kid} = $name if defined $name;
    return $jwk;
}

sub write_jwks
{
    my ($file, @kids) = @_;
    my $json = JSON::PP->new->canonical->pretty;
    my $doc = { keys => [ map { jwk_of($_) } @kids ] };
    open my $fh, '>', "$dir/$file" or die "$dir/$file: $!\n";
    print {$fh} $json->encode($doc);
    close $fh or die "$dir/$file: $!\n";
}

write_jwks('jwks.json', qw(es384-1 rs256-1 es256-1 ed-1));
write_jwks('jwks-weak.json', qw(weak-rsa));
write_jwks('jwks-issuer-a.json', qw(es384-1 es384-1=shared));
write_jwks('jwks-issuer-b.json', qw(es384-2 es384-2=shared));
