# 04_require.t - the Require providers logto-scope, logto-claim and
# logto-organization, Require valid-user, and their composition with the
# rest of mod_authz_core (<RequireAll>, <RequireAny>, <RequireNone>,
# Require ip, <Limit>, <LimitExcept>). Locations: /lt/... in
# t/conf/extra.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET POST);
use JSON::PP ();
use LogtoTest;

# [name, path, claims overlay or undef for no token, status]
my @cases;

sub case
{
    push @cases, [@_];
}

my $ORG_AUD = 'urn:logto:organization:org-1';

# logto-scope: AND of the words of one line.
case('scope a b: both', '/lt/scope-and/', { scope => 's:a s:b' }, 200);
case('scope a b: both among others', '/lt/scope-and/',
     { scope => 'x s:b y s:a' }, 200);
case('scope a b: a only', '/lt/scope-and/', { scope => 's:a' }, 403);
case('scope a b: b only', '/lt/scope-and/', { scope => 's:b' }, 403);
case('scope a b: prefix is not a match', '/lt/scope-and/',
     { scope => 's:aa s:bb' }, 403);
case('scope a b: no token', '/lt/scope-and/', undef, 401);

# logto-scope lines in <RequireAny>: OR.
case('scope a or b: a', '/lt/scope-or/', { scope => 's:a' }, 200);
case('scope a or b: b', '/lt/scope-or/', { scope => 's:b' }, 200);
case('scope a or b: neither', '/lt/scope-or/', { scope => 's:c' }, 403);

# logto-claim: one of the values.
case('client_id client-1', '/lt/claim-client/', {}, 200);
case('client_id client-2', '/lt/claim-client/',
     { client_id => 'client-2' }, 200);
case('client_id client-3', '/lt/claim-client/',
     { client_id => 'client-3' }, 403);
case('client_id missing', '/lt/claim-client/', { client_id => undef }, 403);
case('client_id case differs', '/lt/claim-client/',
     { client_id => 'Client-1' }, 403);

# logto-claim on an array claim: contains one of the values.
case('roles [admin, x]', '/lt/claim-roles/', { roles => ['x', 'admin'] },
     200);
case('roles [x, y]', '/lt/claim-roles/', { roles => ['x', 'y'] }, 403);
case('roles string admin', '/lt/claim-roles/', { roles => 'admin' }, 200);
case('roles [] empty', '/lt/claim-roles/', { roles => [] }, 403);
case('roles string "admin x" is not an array', '/lt/claim-roles/',
     { roles => 'admin x' }, 403);

# logto-claim with a dotted path.
case('custom.tier gold', '/lt/claim-dotted/',
     { custom => { tier => 'gold' } }, 200);
case('custom.tier silver', '/lt/claim-dotted/',
     { custom => { tier => 'silver' } }, 403);
case('custom without tier', '/lt/claim-dotted/', { custom => {} }, 403);
# A claim whose own name holds dots (a namespaced claim) is found by its
# whole name before the name is read as a path.
case('top-level "custom.tier" claim', '/lt/claim-dotted/',
     { 'custom.tier' => 'gold' }, 200);
case('custom a string', '/lt/claim-dotted/', { custom => 'gold' }, 403);

# logto-claim on numbers and booleans: compared by their JSON text.
case('level 3', '/lt/claim-number/', { level => 3 }, 200);
case('level 4', '/lt/claim-number/', { level => 4 }, 403);
case('level [1, 3]', '/lt/claim-number/', { level => [1, 3] }, 200);
case('verified true', '/lt/claim-bool/',
     { verified => JSON::PP::true() }, 200);
case('verified false', '/lt/claim-bool/',
     { verified => JSON::PP::false() }, 403);

# logto-organization.
case('org: organization_id claim', '/lt/org-any/',
     { organization_id => 'org-9' }, 200);
case('org: organization audience', '/lt/org-any/',
     { aud => $ORG_AUD }, 200);
case('org: organization audience in an array', '/lt/org-any/',
     { aud => ['urn:x', 'urn:logto:organization:org-7'] }, 200);
case('org: plain token', '/lt/org-any/', {}, 403);
case('org: empty organization_id names none', '/lt/org-any/',
     { organization_id => '' }, 403);
# The claim and the organization audience must agree: which organization
# would the request be for otherwise?
case('org: organization_id agrees with the audience', '/lt/org-any/',
     { aud => 'urn:logto:organization:org-1', organization_id => 'org-1' },
     200);
case('org: organization_id of another organization than the audience',
     '/lt/org-any/',
     { aud => 'urn:logto:organization:org-1', organization_id => 'org-9' },
     401);
case('org-1 org-2: organization_id org-2', '/lt/org-list/',
     { organization_id => 'org-2' }, 200);
case('org-1 org-2: organization audience of org-1', '/lt/org-list/',
     { aud => $ORG_AUD }, 200);
case('org-1 org-2: organization_id org-3', '/lt/org-list/',
     { organization_id => 'org-3' }, 403);
case('org-1 org-2: organization audience of org-3', '/lt/org-list/',
     { aud => 'urn:logto:organization:org-3' }, 403);
case('org-1 org-2: plain token', '/lt/org-list/', {}, 403);
case('org audience not accepted without the wildcard', '/lt/valid-user/',
     { aud => $ORG_AUD }, 401);

# Require valid-user.
case('valid-user: token', '/lt/valid-user/', { scope => undef }, 200);
case('valid-user: no token', '/lt/valid-user/', undef, 401);

# <RequireAll>, <RequireAny>, <RequireNone>.
case('all: scope and client', '/lt/all/', { scope => 's:a' }, 200);
case('all: scope, other client', '/lt/all/',
     { scope => 's:a', client_id => 'client-9' }, 403);
case('all: client, no scope', '/lt/all/', { scope => 's:b' }, 403);
case('any: tier gold', '/lt/any/', { custom => { tier => 'gold' } }, 200);
case('any: scope admin', '/lt/any/', { scope => 's:admin' }, 200);
case('any: neither', '/lt/any/', {}, 403);
case('none: ordinary user', '/lt/none/', {}, 200);
case('none: blocked sub', '/lt/none/', { sub => 'blocked-user' }, 403);
case('none: banned scope', '/lt/none/', { scope => 's:x s:banned' }, 403);
case('none: no token', '/lt/none/', undef, 401);
# A logto-scope line inside <RequireNone> that does not match is what lets
# the request through: it never becomes an insufficient_scope challenge.
case('none, scope line first: ordinary user', '/lt/none-scope-first/', {},
     200);
case('none, scope line first: blocked sub', '/lt/none-scope-first/',
     { sub => 'blocked-user' }, 403);

# Require ip: without a token only under AuthLogtoUnauthenticated pass.
case('ip, deny: no token', '/lt/ip-deny/', undef, 401);
case('ip, deny: token', '/lt/ip-deny/', {}, 200);
case('ip, pass: no token', '/lt/ip-pass/', undef, 200);
case('ip, pass: token', '/lt/ip-pass/', {}, 200);
case('other ip or scope, pass: no token', '/lt/ip-or-scope/', undef, 401);
case('other ip or scope, pass: scope', '/lt/ip-or-scope/',
     { scope => 's:a' }, 200);
case('other ip or scope, pass: no scope', '/lt/ip-or-scope/',
     { scope => 's:b' }, 403);

my $now = time;
plan tests => 3 * @cases + 33;

for my $c (@cases) {
    my ($name, $path, $claims, $status) = @$c;
    my $res = defined $claims ? get_bearer($path, token(claims => $claims))
                              : GET($path);
    is($res->code, $status, "$name: $status")
        or diag($res->headers->as_string);
    my $ch = challenge($res);
    if ($status == 200) {
        like($res->content, qr/^ok$/m, "$name: content served");
        ok(!$ch, "$name: no challenge");
    }
    elsif ($status == 401) {
        is($ch && $ch->{scheme}, 'Bearer', "$name: Bearer challenge");
        is($ch && $ch->{realm}, 'lt', "$name: realm");
    }
    else {
        unlike($res->content, qr/^ok$/m, "$name: content not served");
        # A 403 carries a challenge only when a logto-scope line failed.
        if ($path =~ m{/(?:scope-|all/|any/|ip-or-scope/)}
            && $name !~ /other client/) {
            is($ch && $ch->{error}, 'insufficient_scope',
               "$name: insufficient_scope");
        }
        else {
            ok(!$ch || ($ch->{error} // '') ne 'insufficient_scope',
               "$name: no insufficient_scope")
                or diag($ch->{raw});
        }
    }
}

# insufficient_scope names what is missing.
my $ch = challenge(get_bearer('/lt/scope-and/',
                              token(claims => { scope => 's:a' }))) || {};
is($ch->{scope}, 's:b', 'scope a b with a: scope="s:b"');
is($ch->{realm}, 'lt', 'insufficient_scope: realm');
$ch = challenge(get_bearer('/lt/scope-and/',
                           token(claims => { scope => 'other' }))) || {};
is(join(' ', sort split / /, $ch->{scope} // ''), 's:a s:b',
   'scope a b with neither: scope="s:a s:b"');
$ch = challenge(get_bearer('/lt/scope-or/',
                           token(claims => { scope => 's:c' }))) || {};
is(join(' ', sort split / /, $ch->{scope} // ''), 's:a s:b',
   'scope a or b with neither: both named');

# Every scope line mod_authz_core would need is named, each scope once,
# those of lines a <RequireAll> stopped before included.
$ch = challenge(get_bearer('/lt/scope-all-lines/',
                           token(claims => { scope => 'other' }))) || {};
is($ch->{error}, 'insufficient_scope', 'RequireAll of two scope lines: 403 insufficient_scope');
is($ch->{scope}, 's:a s:b', 'RequireAll of two scope lines: both named');
$ch = challenge(get_bearer('/lt/scope-all-lines/',
                           token(claims => { scope => 's:a' }))) || {};
is($ch->{scope}, 's:b', 'RequireAll of two scope lines with s:a: s:b named');
$ch = challenge(get_bearer('/lt/scope-twice/',
                           token(claims => { scope => 'other' }))) || {};
is($ch->{scope}, 's:a s:b', 'a scope on two lines is named once');
# A denial that scopes would not lift is a bare 403.
my $res = get_bearer('/lt/scope-not-decisive/',
                     token(claims => { scope => 'other' }));
is($res->code, 403, 'scope line not decisive, expr denies: 403');
ok(!challenge($res), 'scope line not decisive: no challenge')
    or diag($res->header('WWW-Authenticate'));
$res = get_bearer('/lt/scope-and-claim/',
                  token(claims => { scope => 'other' }));
is($res->code, 403, 'scope and claim both short: 403');
ok(!challenge($res), 'scope and claim both short: no scope challenge')
    or diag($res->header('WWW-Authenticate'));
$ch = challenge(get_bearer('/lt/scope-and-claim/',
                           token(claims => { scope => 'other',
                                             client_id => 'client-9' }))) || {};
is($ch->{scope}, 's:x', 'scope short, claim met: scope="s:x"');

# A logto-claim denial: a 403 without any Bearer error.
$res = get_bearer('/lt/claim-client/',
                  token(claims => { client_id => 'client-3' }));
is($res->code, 403, 'claim denial: 403');
$ch = challenge($res);
ok(!$ch || !exists $ch->{error}, 'claim denial: no error attribute')
    or diag($ch->{raw});
$res = get_bearer('/lt/org-list/', token(claims => {}));
$ch = challenge($res);
ok(!$ch || !exists $ch->{error}, 'organization denial: no error attribute')
    or diag($ch->{raw});

# Invalid tokens never reach authorization, whatever it would grant.
$res = get_bearer('/lt/ip-pass/', tamper_signature(token()));
is($res->code, 401, 'ip, pass: bad signature still 401');
is((challenge($res) || {})->{error}, 'invalid_token',
   'ip, pass: invalid_token');
$res = get_bearer('/lt/ip-deny/',
                  token(claims => { exp => $now - 3600, iat => $now - 7200 }));
is($res->code, 401, 'ip, deny: expired token 401');
$res = get_auth('/lt/ip-pass/', 'Basic dXNlcjpwYXNz');
is($res->code, 200, 'ip, pass: Basic credentials are no token, anonymous 200');

# <Limit GET> read, <LimitExcept GET> write (the location is a CGI that
# answers every method).
my %scopes = (read => 's:read', write => 's:write', both => 's:read s:write');
my %expect = (
    'GET read'   => 200, 'POST read'   => 403,
    'GET write'  => 403, 'POST write'  => 200,
    'GET both'   => 200, 'POST both'   => 200,
);
for my $key (sort keys %expect) {
    my ($method, $which) = split / /, $key;
    my $jwt = token(claims => { scope => $scopes{$which} });
    my @auth = (Authorization => "Bearer $jwt");
    $res = $method eq 'GET'
        ? GET('/lt/limit/', @auth)
        : POST('/lt/limit/', @auth, content => 'x=1');
    is($res->code, $expect{$key}, "limit: $method with $which scope")
        or diag($res->as_string);
}
$res = GET('/lt/limit/', Authorization => 'Bearer '
           . token(claims => { scope => 's:read' }));
like($res->content, qr/^METHOD=GET$/m, 'limit: GET reached the CGI');
$res = POST('/lt/limit/', Authorization => 'Bearer '
            . token(claims => { scope => 's:write' }), content => 'x=1');
like($res->content, qr/^METHOD=POST$/m, 'limit: POST reached the CGI');
$ch = challenge(POST('/lt/limit/', Authorization => 'Bearer '
                     . token(claims => { scope => 's:read' }),
                     content => 'x=1')) || {};
is($ch->{scope}, 's:write', 'limit: POST with read names s:write');
$ch = challenge(GET('/lt/limit/', Authorization => 'Bearer '
                    . token(claims => { scope => 's:write' }))) || {};
is($ch->{scope}, 's:read', 'limit: GET with write names s:read');
$res = POST('/lt/limit/', content => 'x=1');
is($res->code, 401, 'limit: POST without a token 401');
$res = Apache::TestRequest::HEAD('/lt/limit/', Authorization => 'Bearer '
                                 . token(claims => { scope => 's:read' }));
is($res->code, 200, 'limit: HEAD counts as GET');
$res = Apache::TestRequest::PUT('/lt/limit/', Authorization => 'Bearer '
                                . token(claims => { scope => 's:read' }),
                                content => 'x');
is($res->code, 403, 'limit: PUT with read scope 403');
