//go:build !unix

package server

import "testing"

// raiseOpenFiles has nothing to raise outside Unix.
func raiseOpenFiles(*testing.B, uint64) {}
