package normalize

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Authentication lines from sshd, PAM, sudo and su feed brute-force and
// privilege detections. The program comes from the syslog tag, else from
// process.name, syslog.identifier, SYSLOG_IDENTIFIER, ident, program,
// appname or app_name; sshd is also "sshd-session" and "sshd-auth"
// (OpenSSH 9.8 and 10 split the daemon). Field names outside ECS follow
// Filebeat's system module (system.auth.ssh.*, system.auth.sudo.*), so
// existing queries carry over.
//
// sshd (event.action; category/type; outcome):
//
//	Failed <method> for [invalid user ]U from A port P ssh2   ssh_login; authentication/start; failure
//	Accepted <method> for U from A port P ssh2[: KEY]         ssh_login; authentication/start; success
//	Invalid user U from A port P                              ssh_login; authentication/start; failure
//	User U from A not allowed because …                       ssh_login; authentication/start; failure
//	error: PAM: Authentication failure for [illegal user ]U from A   ssh_login; authentication/start; failure
//	error: maximum authentication attempts exceeded for …     ssh_max_auth_attempts; authentication/info; failure
//	Connection closed|reset by [authenticating|invalid user U ]A port P   ssh_connection_closed; network/connection,end
//	Disconnected from [authenticating|invalid ]user U A port P            ssh_disconnected; network/connection,end
//	Disconnecting [authenticating|invalid ]user U A port P: reason       ssh_disconnected; network/connection,end
//	Received disconnect from A port P:N: reason               ssh_disconnect_received; network/connection,end
//	Did not receive identification string from A port P       ssh_no_identification; network/connection,end; failure
//	Unable to negotiate with A port P: reason                 ssh_negotiation_failed; network/connection,end; failure
//	banner exchange: Connection from A port P: reason         ssh_negotiation_failed; network/connection,end; failure
//	fatal: Timeout before authentication for A port P         ssh_auth_timeout; network/connection,end; failure
//
// with user.name U, source.ip A (source.domain when sshd logged a host
// name, with UseDNS), source.port P, related.ip and related.user,
// system.auth.ssh.event (Failed, Accepted, Invalid, Denied…),
// system.auth.ssh.method, system.auth.ssh.signature (the key), event.reason.
// "invalid user" is marked with system.auth.ssh.invalid_user: true and
// event.reason "invalid user"; Filebeat keeps only the verb ("Failed").
// The user name is what sshd logged, and an attacker chooses it: the address
// is taken from the last " from A port P", which sshd writes after it, so a
// name like "x from 10.0.0.1 port 1" cannot forge the source.
//
// One password guess usually yields several lines (Invalid user, Failed
// password, a PAM failure, Connection closed). A brute-force count should
// count event.action ssh_login with event.outcome failure, weighted by
// event.count.
//
// "message repeated N times: [ line ]" (rsyslog) is parsed as its line with
// event.count N: rsyslog logged the first occurrence separately and this
// line stands for N more.
//
// PAM (any program, any module: pam_unix, pam_sss…):
//
//	pam_X(S:auth): authentication failure; … rhost=A  user=U   pam_authentication; authentication/start; failure
//	PAM N more authentication failures; … rhost=A  user=U      pam_authentication; authentication/start; failure; event.count N
//	pam_X(S:session): session opened for user U(uid=N) by …   pam_session_opened; session/start; success
//	pam_X(S:session): session closed for user U                pam_session_closed; session/end; success
//	pam_faillock(S:auth): Consecutive login failures for user U account temporarily locked
//	                                                            pam_account_locked; iam/user,change
//
// with user.name U (user.id from uid), source.ip or source.domain from
// rhost, and system.auth.pam.module, .service, .type and the key=value pairs
// (logname, uid, euid, tty, ruser, rhost, user). pam_unix logs the first
// failure of a handle in full and the rest as "N more", so counting with
// event.count is exact.
//
// sudo: "U : [error ; ]TTY=T ; PWD=D ; USER=R ; COMMAND=C" → sudo_command;
// process/start, success; or, with an error ("3 incorrect password
// attempts", "user NOT in sudoers"), authentication/start, failure,
// event.reason. user.name U, user.effective.name R, system.auth.sudo.tty,
// .pwd, .user, .group, .command, .error. process.* stays sudo's own (from
// the syslog tag): the command is in system.auth.sudo.command.
//
// su: "(to R) U on T", "FAILED SU (to R) U on T" (util-linux) and
// "Successful su for R by U", "FAILED su for R by U" (shadow) → su;
// authentication/start; success or failure; user.name U,
// user.effective.name R.

var (
	authStart = cat("authentication")
	startType = cat("start")
	netCat    = cat("network")
	connEnd   = cat("connection", "end")
)

var (
	sshLoginRE        = regexp.MustCompile(`^(Accepted|Failed) (\S+) for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh[12])?(?:: (.+))?$`)
	sshInvalidRE      = regexp.MustCompile(`^Invalid user (.*) from (\S+)(?: port (\d+))?$`)
	sshNotAllowedRE   = regexp.MustCompile(`^User (.*) from (\S+) not allowed because (.+)$`)
	sshPAMFailureRE   = regexp.MustCompile(`^PAM: Authentication failure for (illegal user )?(.*) from (\S+)$`)
	sshMaxAttemptsRE  = regexp.MustCompile(`^maximum authentication attempts exceeded for (invalid user )?(.*) from (\S+) port (\d+)(?: ssh[12])?$`)
	sshClosedRE       = regexp.MustCompile(`^Connection (closed|reset) by (?:(authenticating|invalid) user (.*) )?(\S+) port (\d+)$`)
	sshDisconnectedRE = regexp.MustCompile(`^Disconnected from (?:(authenticating |invalid )?user (.*) )?(\S+) port (\d+)$`)
	sshDisconnectRE   = regexp.MustCompile(`^Disconnecting (?:(authenticating |invalid )?user (.*) )?(\S+) port (\d+): (.+)$`)
	sshReceivedRE     = regexp.MustCompile(`^Received disconnect from (\S+) port (\d+):(\d+): ?(.*)$`)
	sshNoIdentRE      = regexp.MustCompile(`^Did not receive identification string from (\S+)(?: port (\d+))?$`)
	sshNegotiateRE    = regexp.MustCompile(`^(?:Unable to negotiate with|banner exchange: Connection from) (\S+) port (\d+): (.+)$`)
	sshTimeoutRE      = regexp.MustCompile(`^Timeout before authentication for (\S+) port (\d+)$`)

	repeatedRE    = regexp.MustCompile(`^message repeated (\d+) times: \[ ?(.*?) ?\]$`)
	pamRE         = regexp.MustCompile(`^(pam_[A-Za-z0-9_]+)\(([^:()]+):([a-z]+)\): (.*)$`)
	pamMoreRE     = regexp.MustCompile(`^PAM (\d+) more authentication failures?; (.*)$`)
	pamSessionRE  = regexp.MustCompile(`^session (opened|closed) for user (.+?)(?:\(uid=(\d+)\))?(?: by (.*?)(?:\(uid=(\d+)\))?)?$`)
	pamFaillockRE = regexp.MustCompile(`^Consecutive login failures for user (.+) account temporarily locked$`)
	suUtilRE      = regexp.MustCompile(`^(FAILED SU )?\(to (\S+)\) (\S+) on (\S+)$`)
	suShadowRE    = regexp.MustCompile(`^(Successful|FAILED) su for (\S+) by (\S+)$`)
)

// programKeys name the program when there is no syslog tag.
var programKeys = [...]string{"process.name", "syslog.identifier", "SYSLOG_IDENTIFIER", "ident", "program", "appname", "app_name"}

// auth parses the free text of an authentication line.
func (n *normalizer) auth() {
	text := n.text
	if text == "" {
		return
	}
	program := n.program
	if program == "" {
		for _, k := range programKeys {
			if program = getString(n.fields, k); program != "" {
				putString(n.fields, "process.name", program)
				break
			}
		}
	}
	if strings.HasPrefix(text, "message repeated ") {
		if m := repeatedRE.FindStringSubmatch(text); m != nil {
			if c, err := strconv.ParseUint(m[1], 10, 31); err == nil {
				put(n.fields, "event.count", json.Number(strconv.FormatUint(c, 10)))
			}
			text = m[2]
		}
	}
	if i := strings.LastIndexByte(program, '/'); i >= 0 {
		program = program[i+1:]
	}
	switch strings.ToLower(program) {
	case "sshd", "sshd-session", "sshd-auth":
		if n.sshd(text) {
			return
		}
	case "sudo":
		if n.sudo(text) {
			return
		}
	case "su":
		if n.su(text) {
			return
		}
	}
	n.pam(text)
}

// categorise sets event.action, .outcome (unless ""), .category and .type.
func (n *normalizer) categorise(action, outcome string, category, typ []any) {
	f := n.fields
	put(f, "event.action", action)
	putString(f, "event.outcome", outcome)
	put(f, "event.category", slices.Clone(category))
	put(f, "event.type", slices.Clone(typ))
}

// source sets source.ip (or source.domain for a host name) and source.port.
func (n *normalizer) source(addr, port string) {
	f := n.fields
	appendUnique(f, "related.ip", putIP(f, "source.ip", "source.domain", addr))
	if p, ok := parsePort(port); ok {
		put(f, "source.port", p)
	}
}

// user sets a user name at path (user.name, user.effective.name).
func (n *normalizer) user(path, name string) {
	if name == "" {
		return
	}
	put(n.fields, path, name)
	appendUnique(n.fields, "related.user", name)
}

func (n *normalizer) sshd(text string) bool {
	f := n.fields
	text = strings.TrimSuffix(text, " [preauth]")
	text = strings.TrimPrefix(strings.TrimPrefix(text, "error: "), "fatal: ")
	invalid := func(marked bool) {
		if marked {
			put(f, "system.auth.ssh.invalid_user", true)
			put(f, "event.reason", "invalid user")
		}
	}
	switch {
	case strings.HasPrefix(text, "Failed ") || strings.HasPrefix(text, "Accepted "):
		m := sshLoginRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		outcome := "failure"
		if m[1] == "Accepted" {
			outcome = "success"
		}
		n.categorise("ssh_login", outcome, authStart, startType)
		put(f, "system.auth.ssh.event", m[1])
		put(f, "system.auth.ssh.method", m[2])
		putString(f, "system.auth.ssh.signature", m[7])
		invalid(m[3] != "")
		n.user("user.name", m[4])
		n.source(m[5], m[6])
	case strings.HasPrefix(text, "Invalid user "):
		m := sshInvalidRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_login", "failure", authStart, startType)
		put(f, "system.auth.ssh.event", "Invalid")
		invalid(true)
		n.user("user.name", m[1])
		n.source(m[2], m[3])
	case strings.HasPrefix(text, "User "):
		m := sshNotAllowedRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_login", "failure", authStart, startType)
		put(f, "system.auth.ssh.event", "Denied")
		put(f, "event.reason", "not allowed because "+m[3])
		n.user("user.name", m[1])
		n.source(m[2], "")
	case strings.HasPrefix(text, "PAM: Authentication failure for "):
		m := sshPAMFailureRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_login", "failure", authStart, startType)
		put(f, "system.auth.ssh.event", "Failed")
		put(f, "system.auth.ssh.method", "keyboard-interactive/pam")
		invalid(m[1] != "")
		n.user("user.name", m[2])
		n.source(m[3], "")
	case strings.HasPrefix(text, "maximum authentication attempts exceeded "):
		m := sshMaxAttemptsRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_max_auth_attempts", "failure", authStart, cat("info"))
		put(f, "event.reason", "maximum authentication attempts exceeded")
		if m[1] != "" {
			put(f, "system.auth.ssh.invalid_user", true)
		}
		n.user("user.name", m[2])
		n.source(m[3], m[4])
	case strings.HasPrefix(text, "Connection closed by ") || strings.HasPrefix(text, "Connection reset by "):
		m := sshClosedRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_connection_closed", "", netCat, connEnd)
		put(f, "system.auth.ssh.event", "Connection "+m[1])
		if m[2] == "invalid" {
			put(f, "system.auth.ssh.invalid_user", true)
		}
		n.user("user.name", m[3])
		n.source(m[4], m[5])
	case strings.HasPrefix(text, "Disconnected from "):
		m := sshDisconnectedRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_disconnected", "", netCat, connEnd)
		put(f, "system.auth.ssh.event", "Disconnected")
		if m[1] == "invalid " {
			put(f, "system.auth.ssh.invalid_user", true)
		}
		n.user("user.name", m[2])
		n.source(m[3], m[4])
	case strings.HasPrefix(text, "Disconnecting "):
		m := sshDisconnectRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_disconnected", "", netCat, connEnd)
		put(f, "system.auth.ssh.event", "Disconnecting")
		put(f, "event.reason", m[5])
		if m[1] == "invalid " {
			put(f, "system.auth.ssh.invalid_user", true)
		}
		n.user("user.name", m[2])
		n.source(m[3], m[4])
	case strings.HasPrefix(text, "Received disconnect from "):
		m := sshReceivedRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_disconnect_received", "", netCat, connEnd)
		put(f, "system.auth.ssh.event", "Received disconnect")
		putString(f, "event.reason", m[4])
		n.source(m[1], m[2])
	case strings.HasPrefix(text, "Did not receive identification string "):
		m := sshNoIdentRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_no_identification", "failure", netCat, connEnd)
		put(f, "event.reason", "did not receive identification string")
		n.source(m[1], m[2])
	case strings.HasPrefix(text, "Unable to negotiate ") || strings.HasPrefix(text, "banner exchange: "):
		m := sshNegotiateRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_negotiation_failed", "failure", netCat, connEnd)
		put(f, "event.reason", m[3])
		n.source(m[1], m[2])
	case strings.HasPrefix(text, "Timeout before authentication "):
		m := sshTimeoutRE.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		n.categorise("ssh_auth_timeout", "failure", netCat, connEnd)
		put(f, "event.reason", "timeout before authentication")
		n.source(m[1], m[2])
	default:
		return false
	}
	return true
}

func (n *normalizer) pam(text string) {
	f := n.fields
	if strings.HasPrefix(text, "PAM ") {
		m := pamMoreRE.FindStringSubmatch(text)
		if m == nil {
			return
		}
		c, err := strconv.ParseUint(m[1], 10, 31)
		if err != nil {
			return
		}
		n.categorise("pam_authentication", "failure", authStart, startType)
		put(f, "event.count", json.Number(strconv.FormatUint(c, 10)))
		n.pamPairs(m[2])
		return
	}
	if !strings.HasPrefix(text, "pam_") {
		return
	}
	m := pamRE.FindStringSubmatch(text)
	if m == nil {
		return
	}
	put(f, "system.auth.pam.module", m[1])
	put(f, "system.auth.pam.service", m[2])
	put(f, "system.auth.pam.type", m[3])
	body := m[4]
	switch {
	case strings.HasPrefix(body, "authentication failure; "):
		n.categorise("pam_authentication", "failure", authStart, startType)
		n.pamPairs(body[len("authentication failure; "):])
	case strings.HasPrefix(body, "session "):
		s := pamSessionRE.FindStringSubmatch(body)
		if s == nil {
			return
		}
		if s[1] == "opened" {
			n.categorise("pam_session_opened", "success", cat("session"), startType)
		} else {
			n.categorise("pam_session_closed", "success", cat("session"), cat("end"))
		}
		n.user("user.name", s[2])
		putString(f, "user.id", s[3])
		if s[4] != "" {
			put(f, "system.auth.pam.by", s[4])
			appendUnique(f, "related.user", s[4])
		}
	case strings.HasPrefix(body, "Consecutive login failures "):
		s := pamFaillockRE.FindStringSubmatch(body)
		if s == nil {
			return
		}
		n.categorise("pam_account_locked", "", cat("iam"), cat("user", "change"))
		n.user("user.name", s[1])
	}
}

// pamPairs reads pam_unix's "logname= uid=0 euid=0 tty=ssh ruser= rhost=A
// user=U". user comes last and may hold anything, so it is taken after
// rhost, which sshd set.
func (n *normalizer) pamPairs(s string) {
	f := n.fields
	from := strings.Index(s, "rhost=")
	if from < 0 {
		from = 0
	}
	user := ""
	if i := strings.Index(s[from:], " user="); i >= 0 {
		user = s[from+i+len(" user="):]
		s = s[:from+i]
	} else if strings.HasPrefix(s, "user=") {
		user, s = s[len("user="):], ""
	}
	for tok := range strings.FieldsSeq(s) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok || v == "" {
			continue
		}
		switch k {
		case "logname", "uid", "euid", "tty", "ruser", "rhost":
			put(f, "system.auth.pam."+k, v)
		}
	}
	if user != "" {
		put(f, "system.auth.pam.user", user)
		n.user("user.name", user)
	}
	if rhost := getString(f, "system.auth.pam.rhost"); rhost != "" {
		n.source(rhost, "")
	}
}

func (n *normalizer) sudo(text string) bool {
	f := n.fields
	text = strings.TrimLeft(text, " ")
	user, rest, ok := strings.Cut(text, " : ")
	if !ok || user == "" || strings.ContainsAny(user, " \t") {
		return false
	}
	i := strings.Index(rest, "COMMAND=")
	if i < 0 || (i > 0 && !strings.HasSuffix(rest[:i], " ; ")) {
		return false
	}
	reason := ""
	pairs := map[string]string{}
	if i > 0 {
		for j, part := range strings.Split(rest[:i-len(" ; ")], " ; ") {
			k, v, ok := strings.Cut(part, "=")
			if ok && k != "" && strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == "" {
				pairs[k] = v
			} else if j == 0 {
				reason = part
			}
		}
	}
	if reason == "" {
		n.categorise("sudo_command", "success", cat("process"), startType)
	} else {
		n.categorise("sudo_command", "failure", authStart, startType)
		put(f, "event.reason", reason)
		put(f, "system.auth.sudo.error", reason)
	}
	n.user("user.name", user)
	n.user("user.effective.name", pairs["USER"])
	putString(f, "system.auth.sudo.tty", pairs["TTY"])
	putString(f, "system.auth.sudo.pwd", pairs["PWD"])
	putString(f, "system.auth.sudo.user", pairs["USER"])
	putString(f, "system.auth.sudo.group", pairs["GROUP"])
	putString(f, "system.auth.sudo.command", rest[i+len("COMMAND="):])
	return true
}

func (n *normalizer) su(text string) bool {
	var failed bool
	var target, user string
	if m := suUtilRE.FindStringSubmatch(text); m != nil {
		failed, target, user = m[1] != "", m[2], m[3]
	} else if m := suShadowRE.FindStringSubmatch(text); m != nil {
		failed, target, user = m[1] == "FAILED", m[2], m[3]
	} else {
		return false
	}
	outcome := "success"
	if failed {
		outcome = "failure"
	}
	n.categorise("su", outcome, authStart, startType)
	n.user("user.name", user)
	n.user("user.effective.name", target)
	return true
}
