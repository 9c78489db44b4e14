#!/usr/bin/perl
# fake-issuer.pl - an OpenID issuer that serves a discovery document and a
# JWK Set on 127.0.0.1, and fails on command, for the tests of key
# fetching.
#
#   perl fake-issuer.pl [--jwks FILE] [--pidfile FILE] [--portfile FILE]
#                        [--tls-cert FILE --tls-key FILE] PORT
#
# PORT 0 picks a free port; --portfile receives the port once the server
# listens (written whole, by rename). With --tls-cert and --tls-key it
# speaks https (IO::Socket::SSL) and its issuer is https://... It serves:
#
#   /oidc/.well-known/openid-configuration
#       issuer http://127.0.0.1:PORT/oidc, jwks_uri .../oidc/jwks
#   /oidc/jwks
#       the JWKS file, read again for every request ({"keys":[]} without
#       one)
#   /redirect/N
#       302 to /redirect/N-1, /redirect/0 to /oidc/jwks
#   /redirect-file
#       302 to file:///etc/hostname (a client must not follow it)
#
# and is driven through:
#
#   /control/mode?m=MODE[&scope=jwks][&s=SECONDS]
#       ok        answer normally
#       refuse    close the connection without answering
#       500       answer 500
#       garbage   answer 200 with a body that is not JSON
#       slow      answer after s seconds (default 10)
#       huge      answer 200 with 2 MiB, Content-Length declared
#       hugestream  the same without Content-Length (ends at close)
#       badissuer the discovery document names another issuer
#     The fault hits the discovery document and the JWKS alike, or only
#     the JWKS with scope=jwks.
#   /control/count[?k=discovery]  JWKS (or discovery) requests so far
#   /control/reset               counts back to 0, mode ok
#   /control/jwks?file=PATH      serve another JWKS file from now on
#   /control/quit                stop (SIGTERM and SIGINT too)
#
# Control requests are answered by the main process at once; every other
# answer comes from a child of its own, so a slow answer holds up no one.
use strict;
use warnings;

use Getopt::Long;
use IO::Select;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);

my $USAGE = "usage: $0 [--jwks FILE] [--pidfile FILE] [--portfile FILE]"
    . " [--tls-cert FILE --tls-key FILE] PORT\n";
my ($jwks_file, $pidfile, $portfile, $tls_cert, $tls_key);
GetOptions('jwks=s' => \$jwks_file, 'pidfile=s' => \$pidfile,
           'portfile=s' => \$portfile, 'tls-cert=s' => \$tls_cert,
           'tls-key=s' => \$tls_key)
    or die $USAGE;
my $port = shift;
die $USAGE unless defined $port && $port =~ /^\d+$/;
die $USAGE if defined $tls_cert != defined $tls_key;
my $tls = defined $tls_cert;
require IO::Socket::SSL if $tls;

# How long a client may take to send its request head.
my $READ_TIMEOUT = 5;
# Largest request head read.
my $MAX_HEAD = 16384;

my $listen = IO::Socket::INET->new(
    LocalAddr => '127.0.0.1',
    LocalPort => $port,
    Proto     => 'tcp',
    Listen    => 128,
    ReuseAddr => 1,
) or die "fake-issuer: cannot listen on 127.0.0.1:$port: $!\n";
$port = $listen->sockport;
my $issuer = ($tls ? 'https' : 'http') . "://127.0.0.1:$port/oidc";

my %state = (mode => 'ok', scope => 'all', slow => 10);
my %count = (jwks => 0, discovery => 0);
my %children;
my $quit = 0;

$SIG{TERM} = $SIG{INT} = sub { $quit = 1 };
$SIG{PIPE} = 'IGNORE';

write_whole($pidfile, "$$\n") if $pidfile;
write_whole($portfile, "$port\n") if $portfile;

my $select = IO::Select->new($listen);
while (!$quit) {
    reap();
    next unless $select->can_read(0.2);
    my $client = $listen->accept or next;
    $client = start_tls($client) if $tls;
    serve($client) if $client;
}
shutdown_all();
exit 0;

# Write a file as a whole: readers never see half of it.
sub write_whole {
    my ($path, $text) = @_;
    open(my $fh, '>', "$path.tmp") or die "fake-issuer: $path.tmp: $!\n";
    print $fh $text;
    close $fh or die "fake-issuer: $path.tmp: $!\n";
    rename("$path.tmp", $path) or die "fake-issuer: $path: $!\n";
}

sub reap {
    while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
        delete $children{$pid};
    }
}

sub shutdown_all {
    kill 'TERM', keys %children;
    my $deadline = time + 3;
    while (%children && time < $deadline) {
        reap();
        select(undef, undef, undef, 0.05);
    }
    kill 'KILL', keys %children;
    reap();
    unlink $pidfile if $pidfile;
    unlink $portfile if $portfile;
}

# The TLS server side of a new connection, or undef when the handshake
# fails (within the read timeout).
sub start_tls {
    my ($client) = @_;
    my $ssl = IO::Socket::SSL->start_SSL($client,
        SSL_server    => 1,
        SSL_cert_file => $tls_cert,
        SSL_key_file  => $tls_key,
        Timeout       => $READ_TIMEOUT,
    );
    close $client unless $ssl;
    return $ssl;
}

# Close the main process's copy of a connection a child answers on: no TLS
# close_notify, which would end the child's session too.
sub let_go {
    my ($client) = @_;
    if ($tls) {
        $client->close(SSL_no_shutdown => 1);
    }
    else {
        close $client;
    }
}

# The request head, or undef when the client is too slow or sends junk.
sub read_head {
    my ($client) = @_;
    my $head = '';
    my $sel = IO::Select->new($client);
    my $deadline = time + $READ_TIMEOUT;
    while ($head !~ /\r?\n\r?\n/ && length($head) < $MAX_HEAD) {
        my $left = $deadline - time;
        return undef if $left <= 0;
        # TLS may hold decrypted bytes the socket no longer shows.
        return undef unless ($tls && $client->pending)
            || $sel->can_read($left);
        my $n = sysread($client, my $buf, 4096);
        return undef unless $n;
        $head .= $buf;
    }
    return $head;
}

sub query_params {
    my ($query) = @_;
    my %q;
    for my $pair (split /&/, $query // '') {
        my ($k, $v) = split /=/, $pair, 2;
        next unless defined $k;
        $v //= '';
        $v =~ tr/+/ /;
        $v =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
        $q{$k} = $v;
    }
    return %q;
}

sub respond {
    my ($client, $status, $body, %opt) = @_;
    my $type = $opt{type} // 'application/json';
    my $head = "HTTP/1.1 $status\r\nContent-Type: $type\r\n"
        . "Cache-Control: no-cache\r\nConnection: close\r\n";
    $head .= "Content-Length: " . length($body) . "\r\n"
        unless $opt{no_length};
    $head .= "Location: $opt{location}\r\n" if $opt{location};
    print $client $head, "\r\n", $body;
}

sub serve {
    my ($client) = @_;
    my $head = read_head($client);
    if (!defined $head) {
        close $client;
        return;
    }
    my ($method, $target) = $head =~ m{^(\S+)\s+(\S+)\s+HTTP/\d\.\d};
    if (!defined $target) {
        respond($client, '400 Bad Request', "bad request\n",
                type => 'text/plain');
        close $client;
        return;
    }
    my ($path, $query) = split /\?/, $target, 2;
    if ($path =~ m{^/control/}) {
        control($client, $path, { query_params($query) });
        close $client;
        return;
    }
    if ($path =~ m{^/redirect(?:/(\d+)|-file)$}) {
        my $to = !defined $1 ? 'file:///etc/hostname'
            : $1 > 0 ? '/redirect/' . ($1 - 1) : '/oidc/jwks';
        respond($client, '302 Found', "moved\n", type => 'text/plain',
                location => $to);
        close $client;
        return;
    }
    my $what = $path eq '/oidc/jwks' ? 'jwks'
        : $path eq '/oidc/.well-known/openid-configuration' ? 'discovery'
        : undef;
    $count{$what}++ if defined $what;
    # The answer is made in a child, with the state as it is now.
    my $pid = fork;
    if (!defined $pid) {
        respond($client, '503 Service Unavailable', "no fork\n",
                type => 'text/plain');
        close $client;
        return;
    }
    if ($pid == 0) {
        $SIG{TERM} = 'DEFAULT';
        $listen->close;
        answer($client, $what);
        close $client;
        POSIX::_exit(0);
    }
    $children{$pid} = 1;
    let_go($client);
}

sub control {
    my ($client, $path, $q) = @_;
    if ($path eq '/control/mode') {
        my $m = $q->{m} // 'ok';
        if ($m !~ /^(ok|refuse|500|garbage|slow|huge|hugestream|badissuer)$/) {
            respond($client, '400 Bad Request', "unknown mode\n",
                    type => 'text/plain');
            return;
        }
        $state{mode} = $m;
        $state{scope} = ($q->{scope} // 'all') eq 'jwks' ? 'jwks' : 'all';
        $state{slow} = $q->{s} if defined $q->{s} && $q->{s} =~ /^\d+$/;
        respond($client, '200 OK', "ok\n", type => 'text/plain');
    }
    elsif ($path eq '/control/count') {
        my $k = ($q->{k} // 'jwks') eq 'discovery' ? 'discovery' : 'jwks';
        respond($client, '200 OK', "$count{$k}\n", type => 'text/plain');
    }
    elsif ($path eq '/control/reset') {
        %count = (jwks => 0, discovery => 0);
        %state = (mode => 'ok', scope => 'all', slow => 10);
        respond($client, '200 OK', "ok\n", type => 'text/plain');
    }
    elsif ($path eq '/control/jwks') {
        if (!defined $q->{file} || !-r $q->{file}) {
            respond($client, '400 Bad Request', "no such file\n",
                    type => 'text/plain');
            return;
        }
        $jwks_file = $q->{file};
        respond($client, '200 OK', "ok\n", type => 'text/plain');
    }
    elsif ($path eq '/control/quit') {
        respond($client, '200 OK', "bye\n", type => 'text/plain');
        $quit = 1;
    }
    else {
        respond($client, '404 Not Found', "no such control\n",
                type => 'text/plain');
    }
}

# Answer a discovery or JWKS request (or anything else: 404), with the
# fault of the moment.
sub answer {
    my ($client, $what) = @_;
    if (!defined $what) {
        respond($client, '404 Not Found', "not found\n", type => 'text/plain');
        return;
    }
    my $mode = $state{mode};
    $mode = 'ok' if $state{scope} eq 'jwks' && $what ne 'jwks';
    return if $mode eq 'refuse';
    if ($mode eq 'slow') {
        sleep $state{slow};
        $mode = 'ok';
    }
    if ($mode eq '500') {
        respond($client, '500 Internal Server Error', "{\"error\":\"down\"}");
    }
    elsif ($mode eq 'garbage') {
        respond($client, '200 OK', "<html>this is not a key set {");
    }
    elsif ($mode eq 'huge' || $mode eq 'hugestream') {
        respond($client, '200 OK', '{"keys":[],"pad":"' . ('x' x (2 << 20))
                . '"}', no_length => $mode eq 'hugestream');
    }
    elsif ($what eq 'discovery') {
        my $iss = $mode eq 'badissuer' ? "$issuer-other" : $issuer;
        respond($client, '200 OK',
                "{\"issuer\":\"$iss\",\"jwks_uri\":\"$issuer/jwks\","
                . "\"authorization_endpoint\":\"$issuer/auth\","
                . "\"token_endpoint\":\"$issuer/token\"}");
    }
    else {
        respond($client, '200 OK', read_jwks());
    }
}

sub read_jwks {
    return '{"keys":[]}' unless defined $jwks_file;
    open(my $fh, '<', $jwks_file) or return '{"keys":[]}';
    local $/;
    my $text = <$fh>;
    close $fh;
    return $text // '';
}
