# 07_expr.t - the expression function logto_claim('NAME') in Require expr,
# <If> (evaluated before authentication) and mod_headers' expr= values:
# dotted paths, arrays joined with spaces, empty without a valid token.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use LogtoTest;

plan tests => 33;

my $now = time;
my $res;

sub gold
{
    my ($tier) = @_;
    return token(claims => { custom => { tier => $tier } });
}

# --------------------------------------------------------- Require expr
my $R = '/lt/expr-require/';
$res = get_bearer($R, gold('gold'));
is($res->code, 200, 'Require expr: gold 200');
like($res->content, qr/^ok$/m, 'Require expr: content served');
$res = get_bearer($R, gold('silver'));
is($res->code, 403, 'Require expr: silver 403');
my $ch = challenge($res);
ok(!$ch || ($ch->{error} // '') ne 'insufficient_scope',
   'Require expr: no insufficient_scope');
$res = GET($R);
is($res->code, 401, 'Require expr: no token 401');
is((challenge($res) || {})->{scheme}, 'Bearer',
   'Require expr: no token, Bearer challenge');
is(get_bearer($R, token())->code, 403, 'Require expr: no custom claim 403');
is(get_bearer($R, tamper_signature(gold('gold')))->code, 401,
   'Require expr: gold but bad signature 401');
is(get_bearer($R, token(claims => {
    custom => { tier => 'gold' }, exp => $now - 3600, iat => $now - 7200,
}))->code, 401, 'Require expr: gold but expired 401');
is(get_bearer($R, token(claims => { custom => { tier => ['gold'] } }))->code,
   200, 'Require expr: ["gold"] reads as gold');
is(get_bearer($R, token(claims => { custom => { tier => 'gold x' } }))->code,
   403, 'Require expr: "gold x" 403');

# ----------------------------------------------------------------- <If>
my $I = '/lt/expr-if/';
$res = get_bearer($I, token());
is($res->code, 200, '<If>: user-1 200');
is($res->header('X-If-Sub'), 'user-1', '<If> true for sub user-1');
$res = get_bearer($I, token(claims => { sub => 'user-2' }));
is($res->code, 200, '<If>: user-2 200');
ok(!defined $res->header('X-If-Sub'), '<If> false for user-2');
$res = get_bearer($I, tamper_signature(token()));
is($res->code, 401, '<If>: bad signature 401');
ok(!defined $res->header('X-If-Sub'), '<If> false for a bad token');
$res = GET($I);
is($res->code, 401, '<If>: no token 401');
ok(!defined $res->header('X-If-Sub'), '<If> false without a token');

# Arrays joined with spaces, dotted paths, other types as text.
$res = get_bearer($I, token(claims => {
    roles => ['admin', 'x', 'y'], custom => { tier => 'gold' },
}));
is($res->header('X-Claim-Roles'), 'admin x y', 'array claim joined');
is($res->header('X-Claim-Tier'), 'gold', 'dotted path');
$res = get_bearer($I, token(claims => { roles => 'one' }));
is($res->header('X-Claim-Roles'), 'one', 'string claim as is');
$res = get_bearer($I, token(claims => { roles => [] }));
is($res->header('X-Claim-Roles') // '', '', 'empty array: empty');
$res = get_bearer($I, token(claims => { roles => [1, 2] }));
is($res->header('X-Claim-Roles'), '1 2', 'array of numbers joined');
$res = get_bearer($I, token());
is($res->header('X-Claim-Roles') // '', '', 'missing claim: empty');
is($res->header('X-Claim-Tier') // '', '', 'missing path: empty');

# ------------------------------------------ empty without a valid token
my $P = '/lt/expr-pass/';
$res = GET($P);
is($res->code, 200, 'pass: no token 200');
is($res->header('X-Claim-Sub'), '[]', 'pass: no token, logto_claim empty');
$res = get_bearer($P, token(claims => { sub => 'user-3' }));
is($res->code, 200, 'pass: token 200');
is($res->header('X-Claim-Sub'), '[user-3]', 'pass: token, logto_claim sub');
$res = get_bearer($P, tamper_signature(token()));
is($res->code, 401, 'pass: bad signature 401');
is($res->header('X-Claim-Sub'), '[]', 'pass: bad signature, empty');

# The <If> of one request never leaks into the next on the connection.
Apache::TestRequest::user_agent(reset => 1, keep_alive => 1);
my @seen;
for my $sub ('user-1', 'user-2', 'user-1') {
    $res = get_bearer($I, token(claims => { sub => $sub }));
    push @seen, $res->header('X-If-Sub') // '-';
}
is("@seen", 'user-1 - user-1', '<If> per request on one connection');
