package LogtoDPoP;
# LogtoDPoP - DPoP proofs (RFC 9449) for the httpd tests, made by Crypt::JWT
# (never by the module), with keys generated per test run.
#
#   my $key  = dpop_key();                     # an EC P-256 key
#   my $jwt  = token(claims => { cnf => { jkt => jkt($key) } });
#   my $prf  = proof(key => $key, htm => 'GET', htu => url('/lt/x'),
#                    token => $jwt);
#   my $res  = GET('/lt/x', Authorization => "DPoP $jwt", DPoP => $prf);
use strict;
use warnings;

use Crypt::Digest::SHA256 qw(sha256_b64u);
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);

use Apache::TestRequest ();

use Exporter qw(import);
our @EXPORT = qw(dpop_key jkt public_jwk proof url ath);

# A fresh key: EC P-256 unless told ('rsa', or a curve name).
sub dpop_key
{
    my ($kind) = @_;
    $kind //= 'secp256r1';
    return Crypt::PK::RSA->new->generate_key(256, 65537) if $kind eq 'rsa';
    return Crypt::PK::ECC->new->generate_key($kind);
}

sub public_jwk
{
    my ($key) = @_;
    return $key->export_key_jwk('public', 1);
}

# RFC 7638 thumbprint, by Crypt::PK's own implementation.
sub jkt
{
    my ($key) = @_;
    return $key->export_key_jwk_thumbprint('SHA256');
}

sub ath
{
    my ($token) = @_;
    return sha256_b64u($token);
}

# The absolute URL of PATH on the test server, as the client uses it.
sub url
{
    my ($path) = @_;
    return 'http://' . Apache::TestRequest::hostport() . $path;
}

my $seq = 0;

# proof(key =>, htm =>, htu =>, token =>, alg =>, claims => {...},
#       header => {...}, jwk => {...})
# A signed proof; claims and header overlay the defaults (undef removes
# one); jwk replaces the public key in the header.
sub proof
{
    my (%a) = @_;
    my $key = $a{key};
    my %claims = (
        jti => sprintf('%d-%d-%08x', $$, ++$seq, int rand 0xffffffff),
        htm => $a{htm} // 'GET',
        htu => $a{htu},
        iat => time,
    );
    $claims{ath} = ath($a{token}) if defined $a{token};
    my %header = (typ => 'dpop+jwt', jwk => $a{jwk} // public_jwk($key));
    for my $k (keys %{ $a{claims} || {} }) {
        defined $a{claims}{$k} ? ($claims{$k} = $a{claims}{$k})
                               : delete $claims{$k};
    }
    for my $k (keys %{ $a{header} || {} }) {
        defined $a{header}{$k} ? ($header{$k} = $a{header}{$k})
                               : delete $header{$k};
    }
    my $alg = $a{alg} // ($key->isa('Crypt::PK::RSA') ? 'PS256' : 'ES256');
    return encode_jwt(payload => \%claims, alg => $alg,
                      key => $a{sign_key} // $key, extra_headers => \%header);
}

1;
