package LogtoTest;
# LogtoTest - helpers for the httpd tests: Logto-shaped access tokens signed
# with the test keys in t/keys/ (by Crypt::JWT, never by the module), and
# requests with a given Authorization header.
#
#   use LogtoTest;
#   my $jwt = token(kid => 'es384-1', claims => { scope => 'read:products' });
#   my $res = get_bearer('/api/products/', $jwt);
#   my $ch  = challenge($res);   # { scheme => 'Bearer', realm => ..., ... }
use strict;
use warnings;

use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::Ed25519;
use Crypt::PK::RSA;
use File::Basename qw(dirname);
use File::Spec::Functions qw(catfile rel2abs);
use JSON::PP ();
use MIME::Base64 qw(encode_base64url decode_base64url);

use Apache::TestRequest ();

use Exporter qw(import);
our @EXPORT = qw(
    ISSUER AUDIENCE token unsigned_token default_claims b64url
    tamper_signature get_auth get_bearer challenge key_file
);

use constant ISSUER   => 'https://tenant.logto.app/oidc';
use constant AUDIENCE => 'https://api.example.com/products';

my $KEY_DIR = rel2abs(catfile(dirname(__FILE__), '..', 'keys'));

# kid => [key class, default alg]
my %KEYS = (
    'es384-1'  => ['Crypt::PK::ECC',     'ES384'],
    'es384-2'  => ['Crypt::PK::ECC',     'ES384'],
    'es256-1'  => ['Crypt::PK::ECC',     'ES256'],
    'rs256-1'  => ['Crypt::PK::RSA',     'RS256'],
    'weak-rsa' => ['Crypt::PK::RSA',     'RS256'],
    'ed-1'     => ['Crypt::PK::Ed25519', 'EdDSA'],
);

my %key_cache;

# The PEM file of a test key.
sub key_file
{
    my ($kid) = @_;
    die "unknown test key '$kid'\n" unless $KEYS{$kid};
    return catfile($KEY_DIR, "$kid.pem");
}

sub private_key
{
    my ($kid) = @_;
    return $key_cache{$kid} //= $KEYS{$kid}[0]->new(key_file($kid));
}

sub random_jti
{
    return join '', map { sprintf '%02x', int rand 256 } 1 .. 16;
}

# The claims of a fresh Logto access token for the products API.
sub default_claims
{
    my $now = time;
    return {
        iss       => ISSUER,
        aud       => AUDIENCE,
        sub       => 'user-1',
        client_id => 'client-1',
        scope     => 'read:products write:products',
        iat       => $now,
        exp       => $now + 3600,
        jti       => random_jti(),
    };
}

# Overlay %$over on %$base; a key whose value is undef is removed.
sub merged
{
    my ($base, $over) = @_;
    my %out = %$base;
    for my $k (keys %{ $over || {} }) {
        if (defined $over->{$k}) {
            $out{$k} = $over->{$k};
        }
        else {
            delete $out{$k};
        }
    }
    return \%out;
}

# token(kid => 'es384-1', alg => 'ES384', claims => {...}, header => {...})
# A signed compact JWS. claims and header overlay the defaults (undef
# removes one); the header defaults are typ at+jwt and kid; alg defaults to
# the key's own. sign_kid => KID signs with another key than kid names.
sub token
{
    my (%args) = @_;
    my $kid = $args{kid} // 'es384-1';
    my $sign_kid = $args{sign_kid} // $kid;
    die "unknown test key '$sign_kid'\n" unless $KEYS{$sign_kid};
    my $alg = $args{alg} // $KEYS{$sign_kid}[1];

    my $claims = merged(default_claims(), $args{claims});
    my $header = merged({ typ => 'at+jwt', kid => $kid }, $args{header});

    return encode_jwt(
        payload       => $claims,
        alg           => $alg,
        key           => private_key($sign_kid),
        extra_headers => $header,
    );
}

sub b64url
{
    my ($bytes) = @_;
    return encode_base64url($bytes);
}

# unsigned_token(header => {...}, claims => {...}, signature => 'xyz')
# A compact JWS built by hand: alg none (the default header) or anything
# else a signing library would refuse to produce.
sub unsigned_token
{
    my (%args) = @_;
    my $json = JSON::PP->new->canonical;
    my $header = merged({ alg => 'none', typ => 'at+jwt', kid => 'es384-1' },
                        $args{header});
    my $claims = merged(default_claims(), $args{claims});
    return join '.', b64url($json->encode($header)),
        b64url($json->encode($claims)), $args{signature} // '';
}

# The same token with one bit of its signature flipped.
sub tamper_signature
{
    my ($jwt) = @_;
    my ($h, $p, $s) = split /\./, $jwt, 3;
    my $sig = decode_base64url($s);
    substr($sig, 0, 1) = chr(ord(substr($sig, 0, 1)) ^ 0x01);
    return join '.', $h, $p, b64url($sig);
}

# GET PATH with the Authorization header set to VALUE (none when undef);
# more headers may follow. Returns an HTTP::Response.
sub get_auth
{
    my ($path, $value, @headers) = @_;
    unshift @headers, Authorization => $value if defined $value;
    return Apache::TestRequest::GET($path, @headers);
}

# GET PATH with "Authorization: Bearer TOKEN".
sub get_bearer
{
    my ($path, $jwt, @headers) = @_;
    return get_auth($path, "Bearer $jwt", @headers);
}

# The WWW-Authenticate challenge of a response as a hash: scheme plus its
# auth-params (quoted-string values unquoted); undef without a challenge.
sub challenge
{
    my ($res) = @_;
    my $value = $res->header('WWW-Authenticate');
    return undef unless defined $value;
    my ($scheme, $rest) = $value =~ /^\s*([!#-'*+.^_`|~0-9A-Za-z-]+)\s*(.*)$/s
        or return { scheme => '', raw => $value };
    my %ch = (scheme => $scheme, raw => $value);
    my $param = qr/\G\s*([^\s=,]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]*)\s*,?/;
    while ($rest =~ /$param/gc) {
        my ($name, $raw, $quoted) = ($1, $2, $3);
        my $val = defined $quoted ? $quoted =~ s/\\(.)/$1/gr : $raw;
        $ch{ lc $name } = $val;
    }
    return \%ch;
}

1;
