package normalize_test

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// sshd prefixes an sshd message with a syslog header.
func sshd(msg string) string { return "<38>Nov 26 10:00:01 bastion sshd[40251]: " + msg }

func TestSSHD(t *testing.T) {
	t.Parallel()
	failedLogin := map[string]any{
		"event.category": list("authentication"),
		"event.type":     list("start"),
		"event.action":   "ssh_login",
		"event.outcome":  "failure",
	}
	with := func(base map[string]any, more map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name, line string
		want       map[string]any
	}{
		{"failed password", sshd("Failed password for root from 203.0.113.7 port 52144 ssh2"), with(failedLogin, map[string]any{
			"user.name": "root", "source.ip": "203.0.113.7", "source.port": num("52144"),
			"system.auth.ssh.event": "Failed", "system.auth.ssh.method": "password",
			"system.auth.ssh.invalid_user": absent, "event.count": absent,
			"related.ip": list("203.0.113.7"), "related.user": list("root"),
			"process.name": "sshd", "host.name": "bastion",
		})},
		{"failed password, invalid user", sshd("Failed password for invalid user admin from 203.0.113.7 port 40000 ssh2"), with(failedLogin, map[string]any{
			"user.name": "admin", "system.auth.ssh.invalid_user": true, "event.reason": "invalid user", "system.auth.ssh.event": "Failed",
		})},
		{"failed, IPv6", sshd("Failed password for root from 2001:db8::dead:beef port 33221 ssh2"), with(failedLogin, map[string]any{
			"source.ip": "2001:db8::dead:beef", "source.port": num("33221"),
		})},
		{"failed none", sshd("Failed none for invalid user support from 192.0.2.14 port 2200 ssh2"), with(failedLogin, map[string]any{
			"system.auth.ssh.method": "none", "user.name": "support",
		})},
		{"failed keyboard-interactive", sshd("Failed keyboard-interactive/pam for root from 192.0.2.15 port 2201 ssh2"), with(failedLogin, map[string]any{
			"system.auth.ssh.method": "keyboard-interactive/pam",
		})},
		{"failed publickey", sshd("Failed publickey for git from 192.0.2.16 port 2202 ssh2: RSA SHA256:Ra7AmLkGDBnwJ5mS7rT6J1sT9o3H0c0a8m9Jp2x4Y1c"), with(failedLogin, map[string]any{
			"system.auth.ssh.method": "publickey", "system.auth.ssh.signature": "RSA SHA256:Ra7AmLkGDBnwJ5mS7rT6J1sT9o3H0c0a8m9Jp2x4Y1c",
		})},
		{"UseDNS host name", sshd("Failed password for root from scanner.example.net port 2203 ssh2"), with(failedLogin, map[string]any{
			"source.ip": absent, "source.domain": "scanner.example.net", "source.port": num("2203"),
		})},
		{"user name that looks like a source", sshd("Failed password for invalid user x from 10.9.9.9 port 1 from 203.0.113.7 port 52144 ssh2"), with(failedLogin, map[string]any{
			"user.name": "x from 10.9.9.9 port 1", "source.ip": "203.0.113.7", "source.port": num("52144"),
		})},
		{"user name with spaces", sshd("Invalid user  from 192.0.2.17 port 2204"), with(failedLogin, map[string]any{
			"user.name": absent, "source.ip": "192.0.2.17", "system.auth.ssh.invalid_user": true,
		})},
		{"invalid user", sshd("Invalid user admin from 203.0.113.7 port 40000"), with(failedLogin, map[string]any{
			"user.name": "admin", "source.ip": "203.0.113.7", "source.port": num("40000"),
			"system.auth.ssh.event": "Invalid", "system.auth.ssh.invalid_user": true,
		})},
		{"invalid user, old OpenSSH without port", sshd("Invalid user oracle from 192.0.2.18"), with(failedLogin, map[string]any{
			"user.name": "oracle", "source.ip": "192.0.2.18", "source.port": absent,
		})},
		{"accepted password", sshd("Accepted password for alice from 198.51.100.23 port 50022 ssh2"), map[string]any{
			"event.action": "ssh_login", "event.outcome": "success", "event.category": list("authentication"), "event.type": list("start"),
			"user.name": "alice", "source.ip": "198.51.100.23", "system.auth.ssh.event": "Accepted", "system.auth.ssh.method": "password",
		}},
		{"accepted publickey", sshd("Accepted publickey for alice from 198.51.100.23 port 50022 ssh2: ED25519 SHA256:3nXzHbh1cuNf3o/q4dS5n8y0tVvT3V7c0g0l8m6pE2k"), map[string]any{
			"event.outcome": "success", "user.name": "alice", "source.port": num("50022"),
			"system.auth.ssh.method": "publickey", "system.auth.ssh.signature": "ED25519 SHA256:3nXzHbh1cuNf3o/q4dS5n8y0tVvT3V7c0g0l8m6pE2k",
		}},
		{"accepted, IPv6", sshd("Accepted publickey for deploy from 2001:db8:1::25 port 61234 ssh2: ECDSA SHA256:q1w2e3r4t5y6u7i8o9p0"), map[string]any{
			"event.outcome": "success", "source.ip": "2001:db8:1::25",
		}},
		{"message repeated", sshd("message repeated 3 times: [ Failed password for root from 203.0.113.7 port 40112 ssh2]"), with(failedLogin, map[string]any{
			"event.count": num("3"), "user.name": "root", "source.ip": "203.0.113.7", "source.port": num("40112"),
			"message": "message repeated 3 times: [ Failed password for root from 203.0.113.7 port 40112 ssh2]",
		})},
		{"not allowed", sshd("User root from 203.0.113.99 not allowed because not listed in AllowUsers"), with(failedLogin, map[string]any{
			"user.name": "root", "source.ip": "203.0.113.99", "system.auth.ssh.event": "Denied", "event.reason": "not allowed because not listed in AllowUsers",
		})},
		{"PAM failure through sshd", sshd("error: PAM: Authentication failure for illegal user test from 192.0.2.19"), with(failedLogin, map[string]any{
			"user.name": "test", "source.ip": "192.0.2.19", "system.auth.ssh.invalid_user": true,
		})},
		{"max attempts", sshd("error: maximum authentication attempts exceeded for root from 203.0.113.7 port 40112 ssh2 [preauth]"), map[string]any{
			"event.action": "ssh_max_auth_attempts", "event.outcome": "failure", "event.category": list("authentication"), "event.type": list("info"),
			"user.name": "root", "source.ip": "203.0.113.7", "source.port": num("40112"),
		}},
		{"max attempts, invalid user", sshd("error: maximum authentication attempts exceeded for invalid user admin from 203.0.113.7 port 40113 ssh2 [preauth]"), map[string]any{
			"event.action": "ssh_max_auth_attempts", "user.name": "admin", "system.auth.ssh.invalid_user": true,
		}},
		{"connection closed by authenticating user", sshd("Connection closed by authenticating user root 1.2.3.4 port 22 [preauth]"), map[string]any{
			"event.action": "ssh_connection_closed", "event.category": list("network"), "event.type": list("connection", "end"), "event.outcome": absent,
			"user.name": "root", "source.ip": "1.2.3.4", "source.port": num("22"), "system.auth.ssh.event": "Connection closed",
		}},
		{"connection closed by invalid user", sshd("Connection closed by invalid user admin 203.0.113.7 port 40000 [preauth]"), map[string]any{
			"event.action": "ssh_connection_closed", "user.name": "admin", "system.auth.ssh.invalid_user": true,
		}},
		{"connection closed before a user", sshd("Connection closed by 198.51.100.77 port 41572 [preauth]"), map[string]any{
			"event.action": "ssh_connection_closed", "user.name": absent, "source.ip": "198.51.100.77",
		}},
		{"connection reset", sshd("Connection reset by authenticating user root 2001:db8::5 port 40998 [preauth]"), map[string]any{
			"event.action": "ssh_connection_closed", "system.auth.ssh.event": "Connection reset", "source.ip": "2001:db8::5",
		}},
		{"disconnected, invalid user", sshd("Disconnected from invalid user x 1.2.3.4 port 5 [preauth]"), map[string]any{
			"event.action": "ssh_disconnected", "event.type": list("connection", "end"), "user.name": "x", "source.ip": "1.2.3.4", "source.port": num("5"),
			"system.auth.ssh.invalid_user": true,
		}},
		{"disconnected, authenticating user", sshd("Disconnected from authenticating user ubuntu 2001:db8:85a3::8a2e:370:7334 port 52311 [preauth]"), map[string]any{
			"event.action": "ssh_disconnected", "user.name": "ubuntu", "source.ip": "2001:db8:85a3::8a2e:370:7334",
		}},
		{"disconnected after a session", sshd("Disconnected from user alice 198.51.100.23 port 50022"), map[string]any{
			"event.action": "ssh_disconnected", "user.name": "alice", "system.auth.ssh.invalid_user": absent,
		}},
		{"disconnecting, too many failures", sshd("Disconnecting authenticating user root 203.0.113.7 port 40112: Too many authentication failures [preauth]"), map[string]any{
			"event.action": "ssh_disconnected", "event.reason": "Too many authentication failures", "user.name": "root", "source.port": num("40112"),
		}},
		{"received disconnect", sshd("Received disconnect from 203.0.113.7 port 52144:11: Bye Bye [preauth]"), map[string]any{
			"event.action": "ssh_disconnect_received", "event.reason": "Bye Bye", "source.ip": "203.0.113.7", "source.port": num("52144"),
		}},
		{"received disconnect, IPv6", sshd("Received disconnect from 2001:db8::7 port 52311:11: disconnected by user"), map[string]any{
			"event.action": "ssh_disconnect_received", "event.reason": "disconnected by user", "source.ip": "2001:db8::7",
		}},
		{"no identification", sshd("Did not receive identification string from 192.0.2.44 port 61000"), map[string]any{
			"event.action": "ssh_no_identification", "event.outcome": "failure", "source.ip": "192.0.2.44", "source.port": num("61000"),
		}},
		{"unable to negotiate", sshd("Unable to negotiate with 192.0.2.45 port 39804: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]"), map[string]any{
			"event.action": "ssh_negotiation_failed", "event.reason": "no matching key exchange method found. Their offer: diffie-hellman-group1-sha1", "source.ip": "192.0.2.45",
		}},
		{"banner exchange", sshd("banner exchange: Connection from 192.0.2.46 port 55012: invalid format"), map[string]any{
			"event.action": "ssh_negotiation_failed", "event.reason": "invalid format", "source.port": num("55012"),
		}},
		{"timeout", sshd("fatal: Timeout before authentication for 192.0.2.50 port 40404"), map[string]any{
			"event.action": "ssh_auth_timeout", "source.ip": "192.0.2.50",
		}},
		{"OpenSSH 9.8 sshd-session", "<38>Nov 26 10:10:02 bastion sshd-session[40299]: Failed password for root from 203.0.113.8 port 51000 ssh2", with(failedLogin, map[string]any{
			"process.name": "sshd-session", "source.ip": "203.0.113.8",
		})},
		{"unrecognised sshd line", sshd("Server listening on 0.0.0.0 port 22."), map[string]any{
			"event": absent, "message": "Server listening on 0.0.0.0 port 22.",
		}},
		{"sshd text from another program is not parsed", "<38>Nov 26 10:00:01 web1 myapp[1]: Failed password for root from 203.0.113.7 port 52144 ssh2", map[string]any{
			"event": absent, "user": absent,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkFields(t, setup(t).normalize(t, syslogObject(tt.line)), tt.want)
		})
	}
}

func TestPAMSudoSu(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, line string
		want       map[string]any
	}{
		{"pam auth failure", sshd("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root"), map[string]any{
			"event.action": "pam_authentication", "event.outcome": "failure", "event.category": list("authentication"), "event.type": list("start"),
			"user.name": "root", "source.ip": "203.0.113.7",
			"system.auth.pam.module": "pam_unix", "system.auth.pam.service": "sshd", "system.auth.pam.type": "auth",
			"system.auth.pam.tty": "ssh", "system.auth.pam.uid": "0", "system.auth.pam.rhost": "203.0.113.7", "system.auth.pam.ruser": absent,
		}},
		{"pam auth failure, unknown user", sshd("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7"), map[string]any{
			"event.outcome": "failure", "user.name": absent, "source.ip": "203.0.113.7",
		}},
		{"pam rhost is a host name", sshd("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=customer-22.example.net  user=alice"), map[string]any{
			"source.ip": absent, "source.domain": "customer-22.example.net", "user.name": "alice",
		}},
		{"pam rhost IPv6", sshd("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=2001:db8::7  user=root"), map[string]any{
			"source.ip": "2001:db8::7",
		}},
		{"pam user that looks like a pair", sshd("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=x rhost=10.0.0.1"), map[string]any{
			"user.name": "x rhost=10.0.0.1", "source.ip": "203.0.113.7",
		}},
		{"pam more failures", sshd("PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root"), map[string]any{
			"event.action": "pam_authentication", "event.outcome": "failure", "event.count": num("5"), "user.name": "root", "source.ip": "203.0.113.7",
		}},
		{"pam sss", sshd("pam_sss(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.20.0.4 user=jdoe"), map[string]any{
			"system.auth.pam.module": "pam_sss", "user.name": "jdoe", "source.ip": "10.20.0.4",
		}},
		{"session opened", sshd("pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)"), map[string]any{
			"event.action": "pam_session_opened", "event.outcome": "success", "event.category": list("session"), "event.type": list("start"),
			"user.name": "alice", "user.id": "1000", "system.auth.pam.by": absent,
		}},
		{"session opened, old format", sshd("pam_unix(sshd:session): session opened for user alice by (uid=0)"), map[string]any{
			"event.action": "pam_session_opened", "user.name": "alice", "user.id": absent,
		}},
		{"session closed", sshd("pam_unix(sshd:session): session closed for user alice"), map[string]any{
			"event.action": "pam_session_closed", "event.type": list("end"), "user.name": "alice",
		}},
		{"sudo session", "<86>Nov 26 10:04:15 bastion sudo: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)", map[string]any{
			"event.action": "pam_session_opened", "user.name": "root", "system.auth.pam.by": "alice", "related.user": list("root", "alice"),
		}},
		{"sudo pam failure", "<85>Nov 26 10:05:40 bastion sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1001 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob", map[string]any{
			"event.action": "pam_authentication", "event.outcome": "failure", "user.name": "bob",
			"system.auth.pam.service": "sudo", "system.auth.pam.ruser": "bob", "system.auth.pam.logname": "bob", "source": absent,
		}},
		{"faillock", sshd("pam_faillock(sshd:auth): Consecutive login failures for user root account temporarily locked"), map[string]any{
			"event.action": "pam_account_locked", "event.category": list("iam"), "user.name": "root",
		}},
		{"check pass", sshd("pam_unix(sshd:auth): check pass; user unknown"), map[string]any{
			"event": absent, "system.auth.pam.module": "pam_unix",
		}},
		{"sudo command", "<85>Nov 26 10:04:15 bastion sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx", map[string]any{
			"event.action": "sudo_command", "event.outcome": "success", "event.category": list("process"), "event.type": list("start"),
			"user.name": "alice", "user.effective.name": "root",
			"system.auth.sudo.tty": "pts/0", "system.auth.sudo.pwd": "/home/alice", "system.auth.sudo.user": "root",
			"system.auth.sudo.command": "/usr/bin/systemctl restart nginx",
			"process.name":             "sudo", "process.command_line": absent,
		}},
		{"sudo command with semicolons", "<85>Nov 26 10:04:15 bastion sudo[9]:    alice : TTY=pts/0 ; PWD=/ ; USER=root ; GROUP=adm ; ENV=A=1 ; COMMAND=/bin/sh -c 'id ; whoami'", map[string]any{
			"system.auth.sudo.command": "/bin/sh -c 'id ; whoami'", "system.auth.sudo.group": "adm", "event.outcome": "success",
		}},
		{"sudo wrong passwords", "<85>Nov 26 10:05:52 bastion sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/cat /etc/shadow", map[string]any{
			"event.action": "sudo_command", "event.outcome": "failure", "event.category": list("authentication"),
			"event.reason": "3 incorrect password attempts", "system.auth.sudo.error": "3 incorrect password attempts",
			"user.name": "bob", "user.effective.name": "root", "system.auth.sudo.command": "/bin/cat /etc/shadow",
		}},
		{"sudo not in sudoers", "<85>Nov 26 10:05:52 bastion sudo:   mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash", map[string]any{
			"event.outcome": "failure", "event.reason": "user NOT in sudoers", "user.name": "mallory",
		}},
		{"su failed", "<37>Nov 26 10:06:12 bastion su[40301]: FAILED SU (to root) bob on pts/1", map[string]any{
			"event.action": "su", "event.outcome": "failure", "event.category": list("authentication"),
			"user.name": "bob", "user.effective.name": "root",
		}},
		{"su", "<37>Nov 26 10:06:20 bastion su[40302]: (to root) alice on pts/0", map[string]any{
			"event.action": "su", "event.outcome": "success", "user.name": "alice", "user.effective.name": "root",
		}},
		{"su, shadow-utils", "<37>Nov 26 10:06:20 bastion su[40303]: FAILED su for postgres by bob", map[string]any{
			"event.outcome": "failure", "user.name": "bob", "user.effective.name": "postgres",
		}},
		{"su pam failure", "<37>Nov 26 10:06:10 bastion su[40301]: pam_unix(su:auth): authentication failure; logname=bob uid=1001 euid=0 tty=pts/1 ruser=bob rhost=  user=root", map[string]any{
			"event.action": "pam_authentication", "user.name": "root", "system.auth.pam.ruser": "bob",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkFields(t, setup(t).normalize(t, syslogObject(tt.line)), tt.want)
		})
	}
}

// TestAuthLog runs a real-shaped /var/log/auth.log through and counts what a
// brute-force detector would count.
func TestAuthLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f, err := os.Open("testdata/auth.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type key struct{ action, outcome string }
	lines := map[key]int{}
	weighted := map[key]int{}
	failuresFrom := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ev := b.normalize(t, syslogObject(sc.Text()))
		k := key{ev.String("event.action"), ev.String("event.outcome")}
		n := 1
		if c, ok := ev.Get("event.count"); ok {
			i, _ := c.(json.Number).Int64()
			n = int(i)
		}
		lines[k]++
		weighted[k] += n
		if k == (key{"ssh_login", "failure"}) {
			failuresFrom[ev.String("source.ip")] += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	wantLines := map[key]int{
		{"ssh_login", "failure"}:              8,
		{"ssh_login", "success"}:              1,
		{"pam_authentication", "failure"}:     5,
		{"pam_session_opened", "success"}:     3,
		{"pam_session_closed", "success"}:     3,
		{"ssh_connection_closed", ""}:         3,
		{"ssh_disconnected", ""}:              3,
		{"ssh_disconnect_received", ""}:       2,
		{"ssh_max_auth_attempts", "failure"}:  1,
		{"ssh_no_identification", "failure"}:  1,
		{"ssh_negotiation_failed", "failure"}: 2,
		{"ssh_auth_timeout", "failure"}:       1,
		{"sudo_command", "success"}:           1,
		{"sudo_command", "failure"}:           1,
		{"su", "failure"}:                     1,
		{"pam_account_locked", ""}:            1,
		{"", ""}:                              2, // check pass; New session
	}
	for k, n := range wantLines {
		if lines[k] != n {
			t.Errorf("%v: %d lines, want %d", k, lines[k], n)
		}
	}
	for k, n := range lines {
		if _, ok := wantLines[k]; !ok {
			t.Errorf("unexpected %v: %d lines", k, n)
		}
	}
	if got := weighted[key{"ssh_login", "failure"}]; got != 10 {
		t.Errorf("ssh_login failures weighted by event.count = %d, want 10", got)
	}
	if got := weighted[key{"pam_authentication", "failure"}]; got != 9 {
		t.Errorf("pam_authentication failures weighted by event.count = %d, want 9", got)
	}
	want := map[string]int{"203.0.113.7": 7, "2001:db8::dead:beef": 1, "203.0.113.99": 1, "203.0.113.8": 1}
	for ip, n := range want {
		if failuresFrom[ip] != n {
			t.Errorf("failures from %s = %d, want %d (all: %v)", ip, failuresFrom[ip], n, failuresFrom)
		}
	}
}
