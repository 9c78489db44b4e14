#!/usr/bin/perl
# echo.cgi - answers any method with the request method and the CGI
# environment, one NAME=VALUE per line (t/05_env_headers.t, t/04_require.t).
use strict;
use warnings;

print "Content-Type: text/plain\n\n";
print "METHOD=$ENV{REQUEST_METHOD}\n";
for my $name (sort keys %ENV) {
    next unless $name =~ /^(?:LOGTO_|HTTP_|REMOTE_USER$|AUTH_TYPE$)/;
    (my $value = $ENV{$name}) =~ s/[\r\n]/ /g;
    print "$name=$value\n";
}
