//go:build unix

package server

import (
	"syscall"
	"testing"
)

// raiseOpenFiles makes sure the process may hold need descriptors (the
// fan-out benchmarks keep both ends of every websocket in this process),
// raising the soft limit up to the hard one.
func raiseOpenFiles(b *testing.B, need uint64) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("read the open-files limit: %v", err)
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(need, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
		b.Fatalf("this benchmark holds %d open files; the limit is %d (hard %d): raise it with ulimit -n (%v)", need, lim.Cur, lim.Max, err)
	}
}
