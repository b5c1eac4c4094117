package normalize_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilhq/vigil/internal/normalize"
)

func ExampleNormalize() {
	line := `{"message":"<38>Nov 26 10:00:01 bastion sshd[40251]: Failed password for invalid user admin from 2001:db8::7 port 40112 ssh2"}`
	received := time.Date(2026, 11, 26, 10, 0, 2, 0, time.UTC)

	raw, err := normalize.DecodeLine([]byte(line), normalize.Limits{})
	if err != nil {
		panic(err)
	}
	ev, err := normalize.Normalize(raw, received, normalize.Limits{})
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.Timestamp)
	for _, f := range []string{"event.action", "event.outcome", "user.name", "source.ip", "source.port", "host.name", "process.name", "message"} {
		v, _ := ev.Get(f)
		fmt.Printf("%s: %v\n", f, v)
	}
	fmt.Println(ev.Original["message"])
	// Output:
	// 2026-11-26 10:00:01 +0000 UTC
	// event.action: ssh_login
	// event.outcome: failure
	// user.name: admin
	// source.ip: 2001:db8::7
	// source.port: 40112
	// host.name: bastion
	// process.name: sshd
	// message: Failed password for invalid user admin from 2001:db8::7 port 40112 ssh2
	// <38>Nov 26 10:00:01 bastion sshd[40251]: Failed password for invalid user admin from 2001:db8::7 port 40112 ssh2
}

func ExampleDecodeLine() {
	lim := normalize.Limits{MaxFieldBytes: 16}
	for _, line := range []string{
		`{"process":{"command_line":"powershell -enc SQBFAFgA"}}`,
		`{"user":{"name":"x",}}`,
		`["not","an","object"]`,
	} {
		_, err := normalize.DecodeLine([]byte(line), lim)
		var ne *normalize.Error
		errors.As(err, &ne)
		fmt.Printf("%v (field %q, limit %v)\n", err, ne.Field, errors.Is(err, normalize.ErrLimit))
	}
	// Output:
	// field "process.command_line" is 24 bytes, limit 16 (field "process.command_line", limit true)
	// invalid JSON at byte 21: invalid character '}' looking for beginning of object key string (field "", limit false)
	// line is not a JSON object (it is an array) (field "", limit false)
}
