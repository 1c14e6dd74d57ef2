//go:build !linux

package shell

import "syscall"

// sysProcAttr puts the script in its own process group (so the whole group can be killed).
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
