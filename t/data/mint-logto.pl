#!/usr/bin/perl
# mint-logto.pl - mint Logto-shaped access tokens (RFC 9068) with Perl
# Crypt::JWT, an implementation independent of the module, for its tests.
#
#   mint-logto.pl [--alg ES384|RS256] [--kid KID] [--now SECONDS] [SPEC ...]
#
# Generates a fresh key and prints the public JWK Set on the first line,
# then one signed token per SPEC (one default token when no SPEC is given),
# each on its own line. A SPEC is a JSON object of claim overrides: a claim
# set to null is removed; "_header" holds header overrides the same way;
# "_payload" is a raw payload text signed as is (for numbers JSON cannot
# round-trip, such as 1e400).
use strict;
use warnings;

use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use Getopt::Long;
use JSON::PP;

my $alg = 'ES384';
my $kid = 'test-key-1';
my $now = time;
GetOptions('alg=s' => \$alg, 'kid=s' => \$kid, 'now=i' => \$now)
    or die "usage: $0 [--alg ES384|RS256] [--kid KID] [--now T] [SPEC ...]\n";

my $json = JSON::PP->new->canonical;

my ($pk, $jwk);
if ($alg =~ /^ES(256|384|512)$/) {
    my %curve = (256 => 'secp256r1', 384 => 'secp384r1', 512 => 'secp521r1');
    $pk = Crypt::PK::ECC->new;
    $pk->generate_key($curve{$1});
    $jwk = $pk->export_key_jwk('public', 1);
    $jwk->{alg} = $alg;    # Logto's EC keys carry alg
}
elsif ($alg =~ /^(RS|PS)(256|384|512)$/) {
    $pk = Crypt::PK::RSA->new;
    $pk->generate_key(256, 65537);    # 2048 bits
    $jwk = $pk->export_key_jwk('public', 1);    # Logto's RSA keys carry none
}
else {
    die "$0: unsupported alg $alg\n";
}
$jwk->{kid} = $kid;
$jwk->{use} = 'sig';
print $json->encode({ keys => [$jwk] }), "\n";

my @specs = @ARGV ? @ARGV : ('{}');
my $serial = 0;
for my $text (@specs) {
    my $spec = $json->decode($text);
    my %header = (typ => 'at+jwt', kid => $kid);
    merge(\%header, delete $spec->{_header} || {});
    my $payload = delete $spec->{_payload};
    if (!defined $payload) {
        my %claims = (
            iss       => 'https://tenant.logto.app/oidc',
            aud       => 'https://api.example.com/products',
            scope     => 'read:products write:products',
            client_id => 'app-client-1',
            sub       => 'user-1',
            jti       => sprintf('jti-%d-%d', $$, ++$serial),
            iat       => $now,
            exp       => $now + 3600,
        );
        merge(\%claims, $spec);
        $payload = \%claims;
    }
    print encode_jwt(payload => $payload, alg => $alg, key => $pk,
                     extra_headers => \%header), "\n";
}

# Apply overrides: null removes a member, anything else replaces it.
sub merge {
    my ($into, $over) = @_;
    for my $k (keys %$over) {
        if (defined $over->{$k}) {
            $into->{$k} = $over->{$k};
        }
        else {
            delete $into->{$k};
        }
    }
}
