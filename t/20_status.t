# 20_status.t - the logto-status page: counters shared by every child
# process, the key sets with their kids and algorithms, and nothing of the
# keys themselves.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET POST);
use JSON::PP ();
use LogtoTest;

my $URL = '/api/products/';
my $STATUS = '/logto-status';
my $ACCEPTED = 12;    # valid tokens sent, one connection each

plan tests => 34;

# The JSON page as a hash (empty when it is not JSON).
sub status_json
{
    my $res = GET("$STATUS?json");
    my $doc = eval { JSON::PP->new->decode($res->content) };
    return ($res, $doc || {});
}

# No keep-alive: each request is a new connection, so under prefork they
# are spread over the children and only shared counters add up.
Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);

my (undef, $before) = status_json();
my $now = time;

for (1 .. $ACCEPTED) {
    GET($URL, Authorization => 'Bearer ' . token());
}
my $expired = token(claims => { iat => $now - 7200, exp => $now - 3600 });
is(get_bearer($URL, $expired)->code, 401, 'expired token refused');
is(get_auth($URL, 'Bearer a b')->code, 400, 'two tokens: bad request');
is(get_auth($URL, 'Basic dXNlcjpwYXNz')->code, 401, 'Basic: no token, 401');
is(GET($URL)->code, 401, 'no token: 401');
my $again = token(kid => 'rs256-1');
is(get_bearer($URL, $again)->code, 200, 'a token, first time');
is(get_bearer($URL, $again)->code, 200, 'the same token, second time');

my ($res, $after) = status_json();
is($res->code, 200, 'status ?json: 200');
like($res->header('Content-Type') // '', qr{^application/json},
     'status ?json: application/json');

sub delta
{
    my ($get) = @_;
    return ($get->($after) // 0) - ($get->($before) // 0);
}

is(delta(sub { $_[0]{accepted} }), $ACCEPTED + 2,
   'accepted counts every valid token, whichever child served it');
cmp_ok($after->{accepted} // 0, '>=', 1, 'accepted >= 1');
is(delta(sub { $_[0]{refusals}{token_expired} }), 1,
   'refusals.token_expired counts the expired token');
cmp_ok($after->{refusals}{token_expired} // 0, '>=', 1,
       'refusals.token_expired >= 1');
is(delta(sub { $_[0]{refusals}{bad_request} }), 1,
   'refusals.bad_request counts the two tokens');
is(delta(sub { $_[0]{refusals}{no_token} }), 2,
   'refusals.no_token counts the requests without a token, Basic too');
is(delta(sub { $_[0]{refusals}{signature_invalid} }), 0,
   'no other refusal counted');
is(delta(sub { $_[0]{token_cache_hits} }), 1,
   'token-cache hits: the repeated token only');
ok(exists $after->{fetches}, 'fetches counter present');

# ES384 (the default test key) goes through the P-384 tables.
is($after->{es384}{fast_p384}, JSON::PP::true, 'es384.fast_p384: on');
cmp_ok(delta(sub { $_[0]{es384}{verified_with_tables} }), '>=', $ACCEPTED,
       'es384.verified_with_tables counts the ES384 tokens');
is(delta(sub { $_[0]{es384}{verified_by_openssl} }), 0,
   'es384.verified_by_openssl: none while the tables are on');

# The JWKS file and its keys.
my ($set) = grep { ($_->{source} // '') =~ m{^file:.*/keys/jwks\.json$} }
    @{ $after->{key_sets} || [] };
ok($set, 'the JWKS file is listed') or diag(explain($after->{key_sets}));
$set ||= {};
is_deeply([sort map { $_->{kid} // '' } @{ $set->{keys} || [] }],
          [sort qw(es384-1 rs256-1 es256-1 ed-1)], 'its kids are listed');
my %alg = map { ($_->{kid} // '') => $_->{alg} } @{ $set->{keys} || [] };
is($alg{'es384-1'}, 'ES384', 'kid es384-1 has alg ES384');
ok(defined $set->{age} && $set->{age} >= 0, 'the key set has an age');
ok($set->{last_ok}, 'its last load succeeded');

# Never key material: no JWK member value of the file appears.
my $jwks = do {
    local $/;
    open my $fh, '<', "$FindBin::Bin/keys/jwks.json" or die "jwks.json: $!";
    JSON::PP->new->decode(<$fh>);
};
my @material = grep { defined && length > 16 }
    map { @{$_}{qw(x y n)} } @{ $jwks->{keys} };
my $text = GET($STATUS);
my $leaks = grep { index($res->content . $text->content, $_) >= 0 } @material;
is($leaks, 0, 'no key material on either page');

# The text page.
is($text->code, 200, 'text status: 200');
like($text->header('Content-Type') // '', qr{^text/plain},
     'text status: text/plain');
like($text->content, qr/accepted tokens:\s+\d+.*es384-1/s,
     'text status: counters and kids');
like($text->content,
     qr/ES384 signatures:\s+\d+ with P-384 tables, 0 by OpenSSL \(AuthLogtoFastP384 On\)/,
     'text status: which path checked ES384 signatures');

# GET and HEAD only.
my $head = Apache::TestRequest::HEAD("$STATUS?json");
is($head->code, 200, 'HEAD: 200');
is($head->content, '', 'HEAD: no body');
my $post = POST($STATUS, content => 'x');
is($post->code, 405, 'POST: 405');
like($post->header('Allow') // '', qr/\bGET\b/, 'POST: the 405 allows GET')
    or diag($post->as_string);
