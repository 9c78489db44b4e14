# 10_denials.t - a request whose token verified is never answered 401 by
# an authorization decision: whatever provider or container denies it,
# the answer is 403, with insufficient_scope only when a logto-scope line
# is among the reasons. 401 stays for a missing or invalid token.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use LogtoTest;

# [path, what denies, the error attribute of the 403 or undef]
my @denials = (
    ['/lt/d/expr-user/', 'Require expr naming REMOTE_USER'],
    ['/lt/d/expr-user-regex/', 'Require expr REMOTE_USER =~ regex'],
    ['/lt/d/expr-plain/', 'Require expr without REMOTE_USER'],
    ['/lt/d/expr-claim/', 'Require expr with logto_claim()'],
    ['/lt/d/ip/', 'Require ip'],
    ['/lt/d/env/', 'Require env'],
    ['/lt/d/method/', 'Require method'],
    ['/lt/d/user/', 'Require user'],
    ['/lt/d/claim/', 'Require logto-claim'],
    ['/lt/d/org/', 'Require logto-organization'],
    ['/lt/d/scope/', 'Require logto-scope', 'insufficient_scope'],
    ['/lt/d/all/', '<RequireAll> with an expr naming REMOTE_USER'],
    ['/lt/d/any/', '<RequireAny> of an expr naming REMOTE_USER and ip'],
    ['/lt/d/any-scope/', '<RequireAny> of logto-scope and an expr',
     'insufficient_scope'],
    ['/lt/d/none/', '<RequireNone> of an expr naming REMOTE_USER'],
    ['/lt/d/not/', 'Require not expr naming REMOTE_USER'],
    ['/lt/d/limit/', '<Limit GET> of an expr naming REMOTE_USER'],
    ['/lt/d/limit-ip/', '<Limit GET> of Require ip'],
    ['/lt/d/pass-user/', 'pass, Require expr naming REMOTE_USER'],
);

# Where a rule names a user, admin-1 gets through: the rule can grant.
my @granted = qw(/lt/d/expr-user/ /lt/d/expr-user-regex/ /lt/d/expr-claim/
                 /lt/d/user/ /lt/d/all/ /lt/d/any/ /lt/d/any-scope/
                 /lt/d/limit/ /lt/d/pass-user/);

plan tests => 4 * @denials + @granted + 9;

my $user_token = token();
for my $d (@denials) {
    my ($path, $what, $error) = @$d;
    my $res = get_bearer($path, $user_token);
    is($res->code, 403, "$what: a verified token denied: 403")
        or diag($res->headers->as_string);
    my $ch = challenge($res);
    if ($error) {
        is($ch && $ch->{error}, $error, "$what: error=\"$error\"")
            or diag($res->headers->as_string);
        is($ch && $ch->{scope}, 's:x', "$what: scope=\"s:x\"");
    }
    else {
        ok(!$ch, "$what: no challenge")
            or diag($res->headers->as_string);
        pass("$what: no scope named");
    }
    # 401 is for requests without a valid token, here as everywhere.
    is(GET($path)->code, 401, "$what: no token: 401");
}

my $admin_token = token(claims => { sub => 'admin-1', scope => 's:x' });
for my $path (@granted) {
    is(get_bearer($path, $admin_token)->code, 200, "$path: admin-1: 200");
}

# An invalid token is still 401 invalid_token where a rule names a user.
my $res = get_bearer('/lt/d/expr-user/', tamper_signature(token()));
is($res->code, 401, 'expr naming REMOTE_USER: bad signature: 401');
is((challenge($res) || {})->{error}, 'invalid_token',
   'expr naming REMOTE_USER: bad signature: invalid_token');
$res = get_bearer('/lt/d/any/', tamper_signature(token()));
is($res->code, 401, '<RequireAny>: bad signature: 401');

# Other methods through <Limit GET>: not limited, so granted.
$res = Apache::TestRequest::POST('/lt/d/limit-ip/',
                                 Authorization => "Bearer $user_token",
                                 content => '');
isnt($res->code, 401, '<Limit GET>: POST with a verified token is no 401');
isnt($res->code, 403, '<Limit GET>: POST is not limited');

# A refusal of the header names the kid it holds (typ, crit: refused
# before any key is looked at), and a long jti is cut short.
get_bearer('/lt/d/any/', token(kid => 'es384-1', header => { typ => 'JWT' }));
get_bearer('/lt/d/any/', token(kid => 'es384-1', header => { crit => ['x'] }));
get_bearer('/lt/d/any/',
           token(claims => { jti => 'j' x 300, exp => time - 3600 }));

# The denial is logged with the user, never the token.
my $log = do {
    local $/;
    open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die;
    <$fh>;
};
my $sig = (split /\./, $user_token)[2];
unlike($log, qr/\Q$sig\E/, 'the error log never holds the token');
like($log, qr/typ is not at\+jwt \(reason=typ_invalid, kid=es384-1,/,
     'a refused typ: the log names the kid');
like($log, qr/crit header not supported \(reason=crit_unsupported, kid=es384-1,/,
     'a refused crit: the log names the kid');
like($log, qr/token expired \(reason=token_expired, kid=es384-1, jti=j{64}\)/,
     'a long jti: the log holds its first 64 characters');
