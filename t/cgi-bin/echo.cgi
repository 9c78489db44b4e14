#!/usr/bin/perl
# echo.cgi - answers any method with the request method and the CGI
# environment, one NAME=VALUE per line (t/05_env_headers.t, t/04_require.t),
# and for a request with a body, its length and MD5 as BODY_LENGTH and
# BODY_MD5 (t/11_body.t).
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);

print "Content-Type: text/plain\n\n";
print "METHOD=$ENV{REQUEST_METHOD}\n";
for my $name (sort keys %ENV) {
    next unless $name =~ /^(?:LOGTO_|HTTP_|REMOTE_USER$|AUTH_TYPE$)/;
    (my $value = $ENV{$name}) =~ s/[\r\n]/ /g;
    print "$name=$value\n";
}
my $len = $ENV{CONTENT_LENGTH} // 0;
if ($len =~ /^[0-9]+$/ && $len > 0) {
    binmode STDIN;
    my ($body, $got) = ('', 0);
    while ($got < $len) {
        my $n = read(STDIN, $body, $len - $got, $got);
        last if !$n;
        $got += $n;
    }
    print "BODY_LENGTH=", length($body), "\n";
    print "BODY_MD5=", md5_hex($body), "\n";
}
