# 05_env_headers.t - what a verified token leaves for later phases: the
# LOGTO_* environment, REMOTE_USER and AUTH_TYPE (seen through mod_headers
# and a CGI script), and AuthLogtoClaimHeader headers forwarded through
# mod_proxy, where a client-sent header of the same name never reaches the
# backend, with a valid token, an invalid one or none.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use HTTP::Response ();
use IO::Socket::INET ();
use LogtoTest;

plan tests => 67;

# A response header set by mod_headers from a variable or request header
# that may be unset: mod_headers writes "(null)" for those.
sub hdr
{
    my ($res, $name) = @_;
    my $v = $res->header($name);
    return '' if !defined $v || $v eq '(null)';
    return $v;
}

# GET PATH over a connection of our own, with header lines sent exactly as
# given (LWP would normalise "X_Logto_User" to "X-Logto-User").
sub raw_get
{
    my ($path, @lines) = @_;
    my $sock = IO::Socket::INET->new(
        PeerAddr => Apache::TestRequest::hostport(),
        Timeout  => 10,
    ) or die "connect: $!\n";
    my $req = "GET $path HTTP/1.0\r\nHost: 127.0.0.1\r\n"
        . join('', map { "$_\r\n" } @lines) . "\r\n";
    print {$sock} $req;
    local $/;
    my $raw = <$sock> // '';
    close $sock;
    return HTTP::Response->parse($raw =~ s/\r\n/\n/gr);
}

my $now = time;
my $jti = 'jti-' . $now;

# ---------------------------------------------------- the environment
my $res = get_bearer('/lt/env/', token(claims => {
    aud             => [AUDIENCE, 'urn:other'],
    organization_id => 'org-5',
    jti             => $jti,
    exp             => $now + 600,
}));
is($res->code, 200, 'env: valid token 200') or diag($res->as_string);
is(hdr($res, 'X-Env-Sub'), 'user-1', 'LOGTO_SUB');
is(hdr($res, 'X-Env-Client-Id'), 'client-1', 'LOGTO_CLIENT_ID');
is(hdr($res, 'X-Env-Scope'), 'read:products write:products', 'LOGTO_SCOPE');
is(hdr($res, 'X-Env-Aud'), AUDIENCE . ' urn:other',
   'LOGTO_AUD: array aud space-joined');
is(hdr($res, 'X-Env-Org'), 'org-5', 'LOGTO_ORGANIZATION_ID');
is(hdr($res, 'X-Env-Jti'), $jti, 'LOGTO_JTI');
is(hdr($res, 'X-Env-Exp'), $now + 600, 'LOGTO_EXP');
is(hdr($res, 'X-Remote-User'), 'user-1', 'REMOTE_USER is sub');
is(hdr($res, 'X-Auth-Type'), 'Logto', 'AUTH_TYPE is Logto');

$res = get_bearer('/lt/env/', token(claims => { scope => undef }));
is($res->code, 200, 'env: token without organization, scope: 200');
is(hdr($res, 'X-Env-Aud'), AUDIENCE, 'LOGTO_AUD: string aud');
is(hdr($res, 'X-Env-Org'), '', 'LOGTO_ORGANIZATION_ID unset without one');
is(hdr($res, 'X-Env-Scope'), '', 'LOGTO_SCOPE empty without scope');

$res = get_bearer('/lt/env/', token(claims => {
    sub => 'm2m-app', client_id => 'm2m-app',
}));
is(hdr($res, 'X-Env-Sub'), 'm2m-app', 'machine token: LOGTO_SUB');
is(hdr($res, 'X-Remote-User'), 'm2m-app', 'machine token: REMOTE_USER');

# AuthLogtoRemoteUserClaim client_id (an inner location).
$res = get_bearer('/lt/env/client/', token());
is($res->code, 200, 'env client: 200');
is(hdr($res, 'X-Remote-User'), 'client-1', 'REMOTE_USER from client_id');
is(hdr($res, 'X-Env-Sub'), 'user-1', 'LOGTO_SUB still sub');
$res = get_bearer('/lt/env/client/', token(claims => { client_id => undef }));
is($res->code, 401, 'env client: token without client_id 401');

# Refused requests leave nothing behind.
for my $c (['no token', undef],
           ['bad signature', 'Bearer ' . tamper_signature(token())],
           ['expired', 'Bearer ' . token(claims => {
                exp => $now - 3600, iat => $now - 7200 })]) {
    my ($name, $authz) = @$c;
    $res = get_auth('/lt/env/', $authz);
    is($res->code, 401, "env, $name: 401");
    is(hdr($res, 'X-Env-Sub') . hdr($res, 'X-Env-Jti')
       . hdr($res, 'X-Remote-User'), '', "env, $name: nothing set");
}

# ------------------------------------------------------- a CGI script
$res = get_bearer('/lt/cgi-env/', token(claims => { jti => $jti }),
                  'X-Logto-User' => 'evil');
is($res->code, 200, 'cgi: 200') or diag($res->as_string);
my %env = map { /^([^=]+)=(.*)$/ ? ($1, $2) : () } split /\n/,
    $res->content;
is($env{LOGTO_SUB}, 'user-1', 'cgi: LOGTO_SUB');
is($env{LOGTO_CLIENT_ID}, 'client-1', 'cgi: LOGTO_CLIENT_ID');
is($env{LOGTO_JTI}, $jti, 'cgi: LOGTO_JTI');
is($env{LOGTO_AUD}, AUDIENCE, 'cgi: LOGTO_AUD');
is($env{REMOTE_USER}, 'user-1', 'cgi: REMOTE_USER');
is($env{AUTH_TYPE}, 'Logto', 'cgi: AUTH_TYPE');
is($env{HTTP_X_LOGTO_USER}, 'user-1',
   'cgi: claim header, the client\'s value gone');
ok(!exists $env{HTTP_AUTHORIZATION}, 'cgi: no Authorization passed on');

# ------------------------------------------- claim headers via mod_proxy
my @SPOOFS = ('X-Logto-User: evil-1', 'x-logto-user: evil-2',
              'X_Logto_User: evil-3', 'X-LOGTO-CLIENT: evil-4',
              'x_logto_client: evil-5');
my $valid = token();
my $bad = tamper_signature(token());

# [name, path, Authorization or undef, status, user, client]
my @proxy = (
    ['deny, valid token', '/ltp/deny/x', "Bearer $valid", 200,
     'user-1', 'client-1'],
    ['pass, valid token', '/ltp/pass/x', "Bearer $valid", 200,
     'user-1', 'client-1'],
    ['pass, no token', '/ltp/pass/x', undef, 200, '', ''],
    ['deny, no token', '/ltp/deny/x', undef, 401],
    ['deny, invalid token', '/ltp/deny/x', "Bearer $bad", 401],
    ['pass, invalid token', '/ltp/pass/x', "Bearer $bad", 401],
);
for my $p (@proxy) {
    my ($name, $path, $authz, $status, $user, $client) = @$p;
    # Each spoofed spelling on its own, then all together.
    for my $spoof ([$SPOOFS[0]], [@SPOOFS]) {
        my $what = @$spoof > 1 ? 'all spellings' : 'one';
        my @lines = @$spoof;
        push @lines, "Authorization: $authz" if defined $authz;
        $res = raw_get($path, @lines);
        is($res->code, $status, "proxy $name ($what): $status")
            or diag($res->as_string);
        if ($status != 200) {
            ok(!defined $res->header('X-Backend'),
               "proxy $name ($what): backend not reached");
            next;
        }
        is(hdr($res, 'X-Backend') . '|' . hdr($res, 'X-Seen-User') . '|'
           . hdr($res, 'X-Seen-User-Underscore') . '|'
           . hdr($res, 'X-Seen-Client'),
           "1|$user||$client", "proxy $name ($what): backend saw its own");
    }
}

# The underscore spelling alone, which the claim header does not replace.
$res = raw_get('/ltp/pass/x', 'X_Logto_User: evil', 'x_LOGTO_user: evil');
is($res->code, 200, 'proxy pass, underscores only: 200');
is(hdr($res, 'X-Seen-User') . hdr($res, 'X-Seen-User-Underscore'), '',
   'proxy pass, underscores only: removed');
$res = raw_get('/ltp/deny/x', 'X_Logto_User: evil', "Authorization: Bearer "
               . token(claims => { sub => 'user-2' }));
is(hdr($res, 'X-Seen-User'), 'user-2', 'proxy deny: sub of the token');
is(hdr($res, 'X-Seen-User-Underscore'), '',
   'proxy deny: underscore spelling removed');

# A claim the token lacks: no header, and the client's one is gone too.
$res = raw_get('/ltp/deny/x', 'X-Logto-Client: evil',
               "Authorization: Bearer "
               . token(claims => { client_id => undef }));
is($res->code, 200, 'proxy, token without client_id: 200');
is(hdr($res, 'X-Seen-Client'), '',
   'proxy, token without client_id: no X-Logto-Client');

# A header only resembling the claim header passes untouched.
$res = raw_get('/ltp/pass/x', 'X-Logto-Users: fine');
is($res->code, 200, 'proxy, similar header name: 200');
is(hdr($res, 'X-Seen-User'), '', 'proxy, similar header name: not ours');
