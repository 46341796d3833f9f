package bench

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd when the benchmark's process dies (a benchmark
// stopped by a signal leaves no etcd member or load driver running).
func dieWithParent(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
