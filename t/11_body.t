# 11_body.t - a token in a form body (RFC 6750 section 2.2) beside a
# verified one in the Authorization header is a malformed request (400),
# however its name is spelled; a form body without one reaches the handler
# whole, to a CGI, through mod_proxy and through an internal redirect,
# whether or not it was looked at.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest qw(GET POST);
use Digest::MD5 qw(md5_hex);
use IO::Socket::INET ();
use LogtoTest;

plan tests => 39;

my $FORM = 'application/x-www-form-urlencoded';
my $CGI  = '/lt/cgi-env/';

sub outcome
{
    my ($res) = @_;
    my $ch = challenge($res) || {};
    return join ' ', $res->code, $ch->{error} // '-';
}

# POST BODY to PATH as TYPE (a form unless said), with a Bearer token
# unless $auth is undef.
sub post
{
    my ($path, $auth, $body, $type) = @_;
    my @h = ('Content-Type' => $type // $FORM, content => $body);
    unshift @h, Authorization => "Bearer $auth" if defined $auth;
    return POST($path, @h);
}

# Whether the CGI saw exactly BODY.
sub saw_body
{
    my ($res, $body, $name) = @_;
    my $c = $res->content;
    my ($len) = $c =~ /^BODY_LENGTH=(\d+)$/m;
    my ($md5) = $c =~ /^BODY_MD5=([0-9a-f]+)$/m;
    ok(defined $len && $len == length($body)
           && defined $md5 && $md5 eq md5_hex($body),
       "$name: the handler read the body whole")
        or diag(substr($res->as_string, 0, 600));
}

# A chunked POST of BODY (as two chunks) over a connection of our own.
sub post_chunked
{
    my ($path, $auth, $body) = @_;
    my $sock = IO::Socket::INET->new(
        PeerAddr => Apache::TestRequest::hostport(),
        Timeout  => 10,
    ) or die "connect: $!\n";
    my $half = int(length($body) / 2);
    my $chunks = '';
    for my $part (substr($body, 0, $half), substr($body, $half)) {
        $chunks .= sprintf("%x\r\n%s\r\n", length $part, $part)
            if length $part;
    }
    print {$sock} "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        . "Connection: close\r\nAuthorization: Bearer $auth\r\n"
        . "Content-Type: $FORM\r\nTransfer-Encoding: chunked\r\n\r\n"
        . $chunks . "0\r\n\r\n";
    local $/;
    my $raw = <$sock> // '';
    close $sock;
    return HTTP::Response->parse($raw =~ s/\r\n/\n/gr);
}

my $t = token();

# ----------------------------------------------- a token in the body too
is(outcome(post($CGI, $t, "x=1&access_token=$t")), '400 invalid_request',
   'form body and header: 400');
is(outcome(post($CGI, $t, "access_token=$t")), '400 invalid_request',
   'form body of the token alone and header: 400');
is(outcome(post($CGI, $t, "access%5Ftoken=$t")), '400 invalid_request',
   'percent-encoded name in the body: 400');
is(outcome(post($CGI, $t, "a=1;access_token=$t")), '400 invalid_request',
   'after a semicolon: 400');
is(outcome(post($CGI, $t, "x=1&access_token=$t", "$FORM; charset=UTF-8")),
   '400 invalid_request', 'form with a charset parameter: 400');
is(outcome(post($CGI, $t, "x=1&access_token=$t", uc $FORM)),
   '400 invalid_request', 'media type in capitals: 400');
is(outcome(post_chunked($CGI, $t, "x=1&access_token=$t")),
   '400 invalid_request', 'chunked form body with a token: 400');
my $ch = challenge(post($CGI, $t, "access_token=$t")) || {};
like($ch->{error_description} // '', qr/more than one place/,
     'the description says why');
unlike($ch->{raw} // '', qr/\Q$t\E/, 'the challenge never echoes the token');
# the query string spelled another way
is(outcome(get_bearer('/lt/valid-user/?access%5Ftoken=' . $t, $t)),
   '400 invalid_request', 'percent-encoded name in the query: 400');

# -------------------------------------- bodies that carry none, kept whole
my $res = post($CGI, $t, 'x=1&y=2');
is($res->code, 200, 'small form body: 200') or diag($res->as_string);
saw_body($res, 'x=1&y=2', 'small form body');
my $big = join('&', map { "field$_=" . ('v' x 90) } 1 .. 2000);
$res = post($CGI, $t, $big);
is($res->code, 200, 'form body of ' . length($big) . ' bytes: 200');
saw_body($res, $big, 'large form body');
# Only the first 64 KiB are looked at: a token past them is not found,
# and the body still reaches the handler whole.
my $late = ('p' x (70 * 1024)) . "&access_token=$t";
$res = post($CGI, $t, "pad=$late");
is($res->code, 200, 'a token past the first 64 KiB is not looked for');
saw_body($res, "pad=$late", 'body past the scan');
# not a form: not read before the handler
my $json = qq({"access_token":"$t"});
$res = post($CGI, $t, $json, 'application/json');
is($res->code, 200, 'JSON body naming access_token: not a form, 200');
saw_body($res, $json, 'JSON body');
$res = post($CGI, $t, 'name=access_token_holder&v=access_token');
is($res->code, 200, 'access_token in values and longer names: 200');
is(post_chunked($CGI, $t, 'x=1&y=2')->code, 200,
   'chunked form body without a token: 200');
# through mod_proxy to the same CGI
$res = post('/ltp/echo/', $t, 'x=1&y=2');
is($res->code, 200, 'proxied small form body: 200') or diag($res->as_string);
saw_body($res, 'x=1&y=2', 'proxied small form body');
$res = post('/ltp/echo/', $t, $big);
is($res->code, 200, 'proxied large form body: 200');
saw_body($res, $big, 'proxied large form body');
is(outcome(post('/ltp/echo/', $t, "access_token=$t")), '400 invalid_request',
   'proxied: token in the body too, 400');
# through an internal redirect (a per-directory RewriteRule) to the CGI
$res = post('/lr/app', $t, 'x=1&y=2');
is($res->code, 200, 'redirected small form body: 200') or diag($res->as_string);
saw_body($res, 'x=1&y=2', 'redirected small form body');
$res = post('/lr/app', $t, $big);
is($res->code, 200, 'redirected large form body: 200');
saw_body($res, $big, 'redirected large form body');
is(outcome(post('/lr/app', $t, "access_token=$t")), '400 invalid_request',
   'redirected: token in the body too, 400');

# ------------------------------------------------------ what stays as it was
# No header: the body is not read, it is a request without a token.
is(outcome(post($CGI, undef, "access_token=$t")), '401 -',
   'token in the body only: no token, 401 without an error');
# A refused header token: 401 with a clean body; with a token in the
# body too the request is malformed whatever the header's token is worth
# (RFC 6750 section 2; the Responses table: "token in header and
# elsewhere"): 400, as with a good one.
is(outcome(post($CGI, tamper_signature($t), 'x=1')), '401 invalid_token',
   'bad token, clean body: 401');
is(outcome(post($CGI, tamper_signature($t), "access_token=$t")),
   '400 invalid_request', 'bad token, token in the body: 400');
is(outcome(post($CGI, 'x.y.z', "access_token=$t")),
   '400 invalid_request', 'malformed token, token in the body: 400');
# A body over LimitRequestBody is httpd's own answer.
is(post('/lt/cgi-env/small/', $t, 'x=' . ('a' x 2000))->code, 413,
   'body over LimitRequestBody: 413');
$res = post('/lt/cgi-env/small/', $t, 'x=1&y=2');
is($res->code, 200, 'body under LimitRequestBody: 200');
saw_body($res, 'x=1&y=2', 'small body under a limit');
# a GET stays untouched
is(get_bearer('/lt/valid-user/', $t)->code, 200, 'GET with a token: 200');
# the status page counts the 400s as bad requests
like(GET('/logto-status?metrics')->content,
     qr/^logto_bad_requests_total\s+[1-9]/m,
     'bad requests counted');
