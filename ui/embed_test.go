package ui

import (
	"io/fs"
	"testing"
)

func TestDistContainsPlaceholder(t *testing.T) {
	if _, err := fs.Stat(Dist(), ".placeholder"); err != nil {
		t.Fatalf("placeholder missing from embedded dist: %v", err)
	}
}

func TestBuiltMatchesIndex(t *testing.T) {
	_, err := fs.Stat(Dist(), "index.html")
	if got, want := Built(), err == nil; got != want {
		t.Fatalf("Built() = %v, want %v (index.html present: %v)", got, want, err == nil)
	}
}
