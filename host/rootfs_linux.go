package host

import (
	"os"
	"syscall"
	"unsafe"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// sysFlags are the open flags with no os package constant.
var sysFlags = []oflag{
	{experimentalsys.O_DIRECTORY, syscall.O_DIRECTORY}, {experimentalsys.O_DSYNC, syscall.O_DSYNC},
	{experimentalsys.O_NOFOLLOW, syscall.O_NOFOLLOW}, {experimentalsys.O_NONBLOCK, syscall.O_NONBLOCK},
	{experimentalsys.O_RSYNC, syscall.O_RSYNC},
}

// control runs fn on f's descriptor and returns its errno.
func control(f *os.File, fn func(fd uintptr) syscall.Errno) experimentalsys.Errno {
	sc, err := f.SyscallConn()
	if err != nil {
		return errno(err)
	}
	var e syscall.Errno
	if err := sc.Control(func(fd uintptr) { e = fn(fd) }); err != nil {
		return errno(err)
	}
	if e != 0 {
		return errno(e)
	}
	return 0
}

// setAppend turns O_APPEND on or off for an open file.
func setAppend(f *os.File, enable bool) experimentalsys.Errno {
	return control(f, func(fd uintptr) syscall.Errno {
		fl, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if e != 0 {
			return e
		}
		if enable {
			fl |= syscall.O_APPEND
		} else {
			fl &^= syscall.O_APPEND
		}
		_, _, e = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, fl)
		return e
	})
}

// utimeOmit is Linux's UTIME_OMIT in a timespec's nanoseconds.
const utimeOmit = 1<<30 - 2

func utimespec(ns int64) syscall.Timespec {
	if ns == experimentalsys.UTIME_OMIT {
		return syscall.Timespec{Nsec: utimeOmit}
	}
	return syscall.NsecToTimespec(ns)
}

// futimens sets an open file's times with utimensat(fd, NULL, ...), which
// Linux takes as futimens.
func futimens(f *os.File, atim, mtim int64) experimentalsys.Errno {
	ts := [2]syscall.Timespec{utimespec(atim), utimespec(mtim)}
	return control(f, func(fd uintptr) syscall.Errno {
		_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, fd, 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
		return e
	})
}
