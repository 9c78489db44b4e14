# 09_review.t - access decisions rest on the final configuration, not on
# what an early logto_claim() saw; a CORS preflight let through is not a
# user; an inner AuthLogtoClaimHeader does not undo the outer strip; an
# internal redirect keeps the claim headers; AuthLogtoJwksMinRefresh is at
# least 1; a claim with a control character is not forwarded as a header.
# The locations are the t/09 section of t/conf/extra.conf.in.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET);
use LogtoConfig;
use LogtoTest;

plan tests => 105;

my $res;
my %env;

# The environment the echo CGI printed, NAME => VALUE.
sub cgi_env
{
    my ($res) = @_;
    return map { /^([^=]+)=(.*)$/ ? ($1, $2) : () } split /\n/,
        $res->content;
}

# A response header set by mod_headers from a variable that may be unset.
sub hdr
{
    my ($res, $name) = @_;
    my $v = $res->header($name);
    return '' if !defined $v || $v eq '(null)';
    return $v;
}

# ------------------------- 1. an early logto_claim() decides no access
# The server on 127.0.0.1:<rv1_port> verifies for https://api.example.com/other
# at its level; <Directory rv1> asks for .../billing. Its RewriteCond
# calls logto_claim() at translate_name, before the directory is merged.
my $RV1 = 'http://127.0.0.1:' . Apache::Test::vars('rv1_port')
    . '/rv1/ok.txt';
my $OTHER = 'https://api.example.com/other';
my $BILLING = 'https://api.example.com/billing';

$res = get_bearer($RV1, token(claims => { aud => $OTHER }));
is($res->code, 401, 'early claim: token for the server audience 401')
    or diag($res->as_string);
is(hdr($res, 'X-Early'), '1',
   'early claim: the early expression saw the token as valid');
is((challenge($res) || {})->{error} // '', 'invalid_token',
   'early claim: invalid_token');

$res = get_bearer($RV1, token(claims => { aud => $BILLING }));
is($res->code, 200, 'early claim: token for the directory audience 200')
    or diag($res->as_string);
is(hdr($res, 'X-Early'), '', 'early claim: the early expression saw nothing');

$res = get_bearer($RV1, token(claims => { aud => [$OTHER, $BILLING] }));
is($res->code, 200, 'early claim: token for both audiences 200')
    or diag($res->as_string);
is(GET($RV1)->code, 401, 'early claim: no token 401');

# Without AuthType Logto, Require expr logto_claim() decides alone: with
# the directory's audience, whatever the early RewriteCond saw.
(my $RV1X = $RV1) =~ s{/rv1/}{/rv1x/};
$res = get_bearer($RV1X, token(claims => { aud => $OTHER }));
is($res->code, 403, 'early claim, no AuthType: server audience 403')
    or diag($res->as_string);
is(hdr($res, 'X-Early'), '1',
   'early claim, no AuthType: the early expression saw the token');
$res = get_bearer($RV1X, token(claims => { aud => $BILLING }));
is($res->code, 200, 'early claim, no AuthType: directory audience 200')
    or diag($res->as_string);
is(hdr($res, 'X-Early'), '',
   'early claim, no AuthType: the early expression saw nothing');

# A request refused before its headers were parsed: its ErrorDocument
# does not get the client's claim header.
(my $RV1ENC = $RV1) =~ s{/rv1/ok\.txt}{/rv1/a%2fb};
$res = get_bearer($RV1ENC, token(claims => { aud => $BILLING }),
                  'X-User' => 'admin');
is($res->code, 404, 'encoded slash: 404') or diag($res->as_string);
%env = cgi_env($res);
is($env{METHOD}, 'GET', 'encoded slash: the ErrorDocument CGI answered');
ok(!exists $env{HTTP_X_USER}, 'encoded slash: no client X-User')
    or diag("X-User: $env{HTTP_X_USER}");

# A virtual host's own metadata document at a path the main server's
# also uses: the host's describes the host's resource.
(my $RV1MD = $RV1) =~ s{/rv1/ok\.txt}{/.well-known/oauth-protected-resource};
$res = GET($RV1MD);
is($res->code, 200, 'virtual host metadata: 200') or diag($res->as_string);
like($res->content, qr{"resource":"\Q$BILLING\E"},
     'virtual host metadata: its own resource') or diag($res->content);

# ---------------------------------------- 2. a preflight is not a user
my @preflight = (Origin => 'https://app.example.com',
                 'Access-Control-Request-Method' => 'GET');
$res = Apache::TestRequest::OPTIONS('/rv2/x', @preflight);
is($res->code, 200, 'preflight: let through to the CGI')
    or diag($res->as_string);
%env = cgi_env($res);
is($env{METHOD}, 'OPTIONS', 'preflight: the CGI answered');
ok(!exists $env{REMOTE_USER}, 'preflight: no REMOTE_USER at all')
    or diag("REMOTE_USER='$env{REMOTE_USER}'");
ok(!exists $env{LOGTO_SUB}, 'preflight: no LOGTO_SUB');

$res = get_bearer('/rv2/x', token());
%env = cgi_env($res);
is($res->code, 200, 'preflight location: token with the scope 200');
is($env{REMOTE_USER}, 'user-1', 'preflight location: REMOTE_USER is sub');
is(get_bearer('/rv2/x', token(claims => { scope => 'other' }))->code, 403,
   'preflight location: token without the scope 403');

$res = Apache::TestRequest::OPTIONS('/rv2v/x', @preflight);
is($res->code, 200, 'preflight, valid-user: let through')
    or diag($res->as_string);
%env = cgi_env($res);
ok(!exists $env{REMOTE_USER}, 'preflight, valid-user: no REMOTE_USER')
    or diag("REMOTE_USER='$env{REMOTE_USER}'");
is(get_bearer('/rv2v/x', token())->code, 200,
   'preflight, valid-user location: token 200');

$res = Apache::TestRequest::OPTIONS('/rv2n/x', @preflight);
is($res->code, 200, 'preflight, negated lines: let through')
    or diag($res->as_string);
is(get_bearer('/rv2n/x', token())->code, 200,
   'negated lines: token with the scope 200');
is(get_bearer('/rv2n/x', token(claims => { scope => 'read:products banned' }))
       ->code, 403, 'negated lines: banned scope 403');
is(get_bearer('/rv2n/x', token(claims => { sub => 'blocked-user' }))->code,
   403, 'negated lines: blocked user 403');
is(Apache::TestRequest::OPTIONS('/rv2n/x')->code, 401,
   'negated lines: OPTIONS that is no preflight 401');

# Rules about who the user is cannot be met by a preflight: 403, with no
# challenge (a browser cannot send a token with it); a token of that
# user still gets through.
for my $where (['/rv2u/x', 'Require user'], ['/rv2e/x', 'expr on REMOTE_USER'],
               ['/rv2c/x', 'expr on logto_claim()']) {
    my ($path, $what) = @$where;
    $res = Apache::TestRequest::OPTIONS($path, @preflight);
    is($res->code, 403, "preflight, $what: 403");
    ok(!defined $res->header('WWW-Authenticate'),
       "preflight, $what: no challenge");
    is(get_bearer($path, token(claims => { sub => 'admin' }))->code, 200,
       "$what: the token of that user 200");
}
$res = Apache::TestRequest::OPTIONS('/rv2m/x', @preflight);
is($res->code, 200, 'preflight, Require method OPTIONS beside: let through');

# ----------------------- 3. an inner claim header list keeps the strip
$res = get_bearer('/rv3/echo', token(), 'X-User' => 'admin',
                  'X-Client' => 'evil');
is($res->code, 200, 'inner list: 200') or diag($res->as_string);
%env = cgi_env($res);
isnt($env{HTTP_X_USER} // '', 'admin',
     'inner list: the client\'s X-User of the outer list is gone');
ok(!exists $env{HTTP_X_USER}, 'inner list: no X-User (the list replaced)');
is($env{HTTP_X_CLIENT}, 'client-1', 'inner list: X-Client published');

$res = get_bearer('/rv3/other', token(), 'X-User' => 'admin');
%env = cgi_env($res);
is($env{HTTP_X_USER}, 'user-1', 'outer list: X-User published');

$res = GET('/rv3/echo', 'X-User' => 'admin');
is($res->code, 401, 'inner list: no token 401');

# ----------------------- 4. an internal redirect keeps the claim headers
$res = get_bearer('/rv4/cgi/missing', token(), 'X-User' => 'admin');
is($res->code, 404, 'error document: 404') or diag($res->as_string);
%env = cgi_env($res);
is($env{METHOD}, 'GET', 'error document: the CGI answered');
is($env{HTTP_X_USER}, 'user-1', 'error document: X-User is the token\'s sub');
is($env{REMOTE_USER}, 'user-1', 'error document: REMOTE_USER');
is($env{LOGTO_SUB}, 'user-1', 'error document: LOGTO_SUB');
is($env{LOGTO_SCOPE}, 'read:products write:products',
   'error document: LOGTO_SCOPE');

$res = get_bearer('/rv4/cgi/missing', token(claims => { sub => 'user-9' }));
%env = cgi_env($res);
is($env{HTTP_X_USER}, 'user-9', 'error document: another token, its sub');

$res = GET('/rv4/cgi/missing', 'X-User' => 'admin');
is($res->code, 401, 'error document: no token 401');
unlike($res->content, qr/admin/, 'error document: no client X-User shown');

# ... also when logto_claim() verified for the redirect before its fixups
$res = get_bearer('/rv8/cgi/missing', token(), 'X-User' => 'admin');
is($res->code, 404, 'early expression, error document: 404')
    or diag($res->as_string);
%env = cgi_env($res);
is($env{HTTP_X_USER} // '', 'user-1',
   'early expression, error document: X-User is the token\'s sub');
is($env{LOGTO_SUB} // '', 'user-1',
   'early expression, error document: LOGTO_SUB');

# ------ 9. a 403 short of scopes, ErrorDocument in another protected place
$res = get_bearer('/rv9/x', token(), 'X-User' => 'admin');
is($res->code, 403, 'scope ErrorDocument, protected: 403')
    or diag($res->as_string);
%env = cgi_env($res);
is($env{HTTP_X_USER} // '', 'user-1',
   'scope ErrorDocument, protected: its X-User stays the token\'s sub');
is($env{LOGTO_SUB} // '', 'user-1', 'scope ErrorDocument, protected: LOGTO_SUB');
is((challenge($res) || {})->{error} // '', 'insufficient_scope',
   'scope ErrorDocument, protected: the challenge');

# ------------------ 7. a 403 short of scopes through a local ErrorDocument
$res = get_bearer('/rv7/x', token());
is($res->code, 403, 'scope ErrorDocument: 403') or diag($res->as_string);
like($res->content, qr/scope error page/,
     'scope ErrorDocument: the error document answered');
my $ch7 = challenge($res) || {};
is($ch7->{error} // '', 'insufficient_scope',
   'scope ErrorDocument: insufficient_scope challenge')
    or diag($res->as_string);
is($ch7->{scope} // '', 's:zz', 'scope ErrorDocument: the missing scope');
$res = GET('/rv7/x');
is($res->code, 401, 'scope ErrorDocument: no token 401');
ok(!defined((challenge($res) || {})->{error}),
   'scope ErrorDocument: no token, no error attribute');

# ------------------------ 6. control characters stay out of headers
$res = get_bearer('/rv6/', token(claims => { sub => "a\x01b" }),
                  'X-User' => 'admin');
is($res->code, 200, 'control character: 200') or diag($res->as_string);
%env = cgi_env($res);
ok(!exists $env{HTTP_X_USER}, 'control character: \x01 not forwarded')
    or diag('X-User: '
            . ($env{HTTP_X_USER} =~ s/([^ -~])/sprintf '\\x%02x', ord $1/ger));

# ... nor into the environment, nor out of logto_claim(), and the error
# log names the claim.
ok(!exists $env{LOGTO_SUB}, 'control character: LOGTO_SUB not exported')
    or diag('LOGTO_SUB: '
            . ($env{LOGTO_SUB} =~ s/([^ -~])/sprintf '\\x%02x', ord $1/ger));
ok(!exists $env{LOGTO_TEST_SUB_SEEN},
   'control character: logto_claim(\'sub\') is empty');
is($env{LOGTO_CLIENT_ID}, 'client-1',
   'control character: the other claims still exported');
my $log = do {
    open my $fh, '<', Apache::Test::vars('t_logs') . '/error_log' or die;
    local $/;
    <$fh>;
};
like($log, qr/claim sub not exported as LOGTO_SUB: control characters/,
     'control character: the log names the claim and the variable');
like($log, qr/claim sub not given to logto_claim\(\): control characters/,
     'control character: the log names the claim for logto_claim()');
$res = get_bearer('/rv6/', token());
%env = cgi_env($res);
is($env{LOGTO_SUB}, 'user-1', 'plain sub: LOGTO_SUB exported');
is($env{LOGTO_TEST_SUB_SEEN}, '1', 'plain sub: logto_claim(\'sub\') seen');

$res = get_bearer('/rv6/',
                  token(claims => { custom => { note => "a\x7fb" } }));
is($res->code, 200, 'DEL: 200');
%env = cgi_env($res);
ok(!exists $env{HTTP_X_NOTE}, 'DEL: not forwarded');
is($env{HTTP_X_USER}, 'user-1', 'DEL: the other claim still forwarded');

# tab and C1 (U+0085, NEL) are control characters too
for my $cc ("\t", "\x{85}") {
    my $name = sprintf 'U+%04X', ord $cc;
    $res = get_bearer('/rv6/',
                      token(claims => { custom => { note => "a${cc}b" } }));
    is($res->code, 200, "$name: 200");
    %env = cgi_env($res);
    ok(!exists $env{HTTP_X_NOTE}, "$name: not forwarded");
    is($env{HTTP_X_USER}, 'user-1', "$name: the other claim still forwarded");
}

# the user claim with one: no user (every such token would be the same
# empty REMOTE_USER), refused like a token without the claim
$res = get_bearer('/lt/cgi-env/', token(claims => { sub => "us\ner" }));
is($res->code, 401, 'line feed in the user claim: 401');
is((challenge($res) || {})->{error_description},
   'sub claim holds control characters',
   'line feed in the user claim: says why');
$res = get_bearer('/rv6/', token(claims => { sub => "us\ner" }));
%env = cgi_env($res);
is($env{REMOTE_USER} // '', 'client-1',
   'line feed in sub, another user claim: that claim is the user');
ok(!exists $env{LOGTO_SUB}, 'line feed in sub: LOGTO_SUB not exported');

# A subrequest into a scope that names a claim header but does not
# authenticate (mod_dir's index, which the request then becomes): the
# client's header goes there too, token or not.
$res = GET('/rv10/', 'X-Open-User' => 'admin');
is($res->code, 200, 'index subrequest: 200') or diag($res->as_string);
%env = cgi_env($res);
is($env{METHOD} // '', 'GET', 'index subrequest: the index ran');
ok(!exists $env{HTTP_X_OPEN_USER},
   'index subrequest: the client\'s claim header is stripped');
$res = get_bearer('/rv10/', token(), 'X-Open-User' => 'admin');
%env = cgi_env($res);
ok(!exists $env{HTTP_X_OPEN_USER},
   'index subrequest with a token: the client\'s claim header is stripped');

$res = get_bearer('/rv11/', token(), 'X-User' => 'admin');
is($res->code, 200, 'protected index: 200') or diag($res->as_string);
%env = cgi_env($res);
is($env{HTTP_X_USER} // '', 'user-1',
   'protected index: the claim header is the token\'s, not the client\'s');
is($env{REMOTE_USER} // '', 'user-1', 'protected index: REMOTE_USER');
is($env{LOGTO_SUB} // '', 'user-1', 'protected index: LOGTO_SUB');
is($env{HTTP_X_EXPR_SUB} // '', 'user-1',
   'protected index: logto_claim() in a fixup after the move');
$res = GET('/rv11/', 'X-User' => 'admin');
isnt($res->code, 200, 'protected index, no token: not served ('
                      . $res->code . ')');
unlike($res->content, qr/HTTP_X_USER/,
       'protected index, no token: the index did not run');

# ----------------------------- 5. AuthLogtoJwksMinRefresh is at least 1
my $dir = conf_dir();

# httpd -t on a configuration with LINES inside <Location /api>.
sub check_conf
{
    my ($rc, $out) =
        conf_test($dir, conf_head($dir), '<Location /api>', @_, '</Location>');
    return ($rc, $out);
}

my ($rc, $out) = check_conf('AuthLogtoJwksMinRefresh 0');
isnt($rc, 0, 'AuthLogtoJwksMinRefresh 0: refused') or diag($out);
like($out, qr/AuthLogtoJwksMinRefresh/,
     'AuthLogtoJwksMinRefresh 0: names the directive') or diag($out);
($rc, $out) = check_conf('AuthLogtoJwksMinRefresh 1');
is($rc, 0, 'AuthLogtoJwksMinRefresh 1: accepted') or diag($out);
