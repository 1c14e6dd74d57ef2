package shell

import "syscall"

// sysProcAttr puts the script in its own process group (so the whole group can be killed) and
// has the kernel kill it if the spacelet itself dies (killed mid-job, it cannot clean up).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
