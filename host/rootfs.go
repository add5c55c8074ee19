package host

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// rootFS is a granted directory as wazero sees it: every path the guest
// names is resolved beneath the directory by an os.Root, so neither ".."
// nor a symlink (made by the plugin or already there, relative or
// absolute) leads outside it; such a path fails with EPERM. wazero's own
// directory mount follows links anywhere (issue 12: a link to ../../..
// read /etc/passwd). A read-only grant refuses every change with EROFS.
//
// Paths come from wazero relative to the mount point.
type rootFS struct {
	root     *os.Root
	readOnly bool
}

// newRootFS opens the host directory of a grant.
func newRootFS(dir string, readOnly bool) (*rootFS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &rootFS{root: r, readOnly: readOnly}, nil
}

// rel turns a path from wazero into one for the root.
func rel(p string) string {
	if p = strings.TrimLeft(p, "/"); p == "" {
		return "."
	}
	return p
}

// errno turns an error of the root into a WASI errno. The root's refusal
// to leave it is no OS error (os.Root reports "path escapes from
// parent"): it becomes EPERM.
func errno(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	var en syscall.Errno
	if errors.As(err, &en) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) ||
		errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrClosed) {
		return experimentalsys.UnwrapOSError(err)
	}
	return experimentalsys.EPERM
}

// osFlags converts wazero's open flags.
func osFlags(f experimentalsys.Oflag) int {
	var o int
	switch f & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY) {
	case experimentalsys.O_RDWR:
		o = os.O_RDWR
	case experimentalsys.O_WRONLY:
		o = os.O_WRONLY
	}
	for _, m := range append(sysFlags, []oflag{
		{experimentalsys.O_APPEND, os.O_APPEND}, {experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL}, {experimentalsys.O_SYNC, os.O_SYNC}, {experimentalsys.O_TRUNC, os.O_TRUNC},
	}...) {
		if f&m.w != 0 {
			o |= m.o
		}
	}
	return o
}

// oflag pairs a wazero open flag with the os one.
type oflag struct {
	w experimentalsys.Oflag
	o int
}

func (r *rootFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	writes := flag&(experimentalsys.O_RDWR|experimentalsys.O_WRONLY) != 0
	if writes && flag&experimentalsys.O_DIRECTORY != 0 {
		return nil, experimentalsys.EISDIR
	}
	if r.readOnly && (writes || flag&(experimentalsys.O_CREAT|experimentalsys.O_TRUNC) != 0) {
		return nil, experimentalsys.EROFS
	}
	f, err := r.root.OpenFile(rel(p), osFlags(flag), perm)
	if err != nil {
		return nil, errno(err)
	}
	return wrapFile(r.root, rel(p), f, flag)
}

func (r *rootFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Lstat(rel(p))
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *rootFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := r.root.Stat(rel(p))
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

// change runs a change to the tree, refused in a read-only grant.
func (r *rootFS) change(fn func() error) experimentalsys.Errno {
	if r.readOnly {
		return experimentalsys.EROFS
	}
	return errno(fn())
}

func (r *rootFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	e := r.change(func() error { return r.root.Mkdir(rel(p), perm) })
	if e == experimentalsys.ENOTDIR {
		e = experimentalsys.ENOENT
	}
	return e
}

func (r *rootFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	return r.change(func() error { return r.root.Chmod(rel(p), perm) })
}

func (r *rootFS) Rename(from, to string) experimentalsys.Errno {
	return r.change(func() error { return r.root.Rename(rel(from), rel(to)) })
}

// Rmdir removes an empty directory, and nothing else.
func (r *rootFS) Rmdir(p string) experimentalsys.Errno {
	return r.change(func() error {
		fi, err := r.root.Lstat(rel(p))
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return syscall.ENOTDIR
		}
		return r.root.Remove(rel(p))
	})
}

// Unlink removes anything but a directory.
func (r *rootFS) Unlink(p string) experimentalsys.Errno {
	return r.change(func() error {
		fi, err := r.root.Lstat(rel(p))
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return syscall.EISDIR
		}
		return r.root.Remove(rel(p))
	})
}

func (r *rootFS) Link(oldPath, newPath string) experimentalsys.Errno {
	return r.change(func() error { return r.root.Link(rel(oldPath), rel(newPath)) })
}

// Symlink makes a link with a relative target: where it leads is resolved
// beneath the root whenever it is followed, so a link pointing out of the
// grant can be made but never followed. An absolute target is refused, as
// WASI's path resolution rules say.
func (r *rootFS) Symlink(target, link string) experimentalsys.Errno {
	if path.IsAbs(target) {
		return experimentalsys.EPERM
	}
	return r.change(func() error { return r.root.Symlink(target, rel(link)) })
}

func (r *rootFS) Readlink(p string) (string, experimentalsys.Errno) {
	s, err := r.root.Readlink(rel(p))
	return s, errno(err)
}

func (r *rootFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	return r.change(func() error { return r.root.Chtimes(rel(p), timeOf(atim), timeOf(mtim)) })
}

// timeOf turns a WASI time into one for Chtimes, where the zero time leaves
// a time unchanged as UTIME_OMIT does.
func timeOf(ns int64) time.Time {
	if ns == experimentalsys.UTIME_OMIT {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// rootFile is a file opened beneath a root. wazero's own wrapper of an
// fs.File (sysfs.AdaptFS) does the reading, writing, seeking and directory
// listing, over a one-file fs.FS holding the *os.File the root opened;
// rootFile adds what that wrapper leaves out (truncate, sync, times,
// append). Writing those methods here instead would fail go vet:
// wazero's Seek returns an Errno, not the error of io.Seeker.
type rootFile struct {
	experimentalsys.File
	of     *openedFS
	append bool
}

// openedFS is the fs.FS the wrapper of one file reads: its first Open
// returns the file the root opened; a later one (the wrapper reopens a
// directory to rewind it) opens the same name beneath the root again.
type openedFS struct {
	root *os.Root
	name string
	file *os.File // the latest opened
	used bool
}

func (o *openedFS) Open(string) (fs.File, error) {
	if !o.used {
		o.used = true
		return o.file, nil
	}
	f, err := o.root.Open(o.name)
	if err != nil {
		return nil, err
	}
	o.file = f
	return f, nil
}

// wrapFile makes the wazero file for f, opened beneath root as name.
func wrapFile(root *os.Root, name string, f *os.File, flag experimentalsys.Oflag) (experimentalsys.File, experimentalsys.Errno) {
	of := &openedFS{root: root, name: name, file: f}
	// The flag only matters to the wrapper for a directory opened to write,
	// which OpenFile refused already.
	wf, e := (&sysfs.AdaptFS{FS: of}).OpenFile(".", flag&experimentalsys.O_DIRECTORY, 0)
	if e != 0 {
		_ = f.Close()
		return nil, e
	}
	return &rootFile{File: wf, of: of, append: flag&experimentalsys.O_APPEND != 0}, 0
}

func (f *rootFile) IsAppend() bool { return f.append }

func (f *rootFile) SetAppend(enable bool) experimentalsys.Errno {
	if e := setAppend(f.of.file, enable); e != 0 {
		return e
	}
	f.append = enable
	return 0
}

func (f *rootFile) Truncate(size int64) experimentalsys.Errno {
	if size < 0 {
		return experimentalsys.EINVAL
	}
	return errno(f.of.file.Truncate(size))
}

func (f *rootFile) Sync() experimentalsys.Errno { return errno(f.of.file.Sync()) }

func (f *rootFile) Datasync() experimentalsys.Errno { return errno(f.of.file.Sync()) }

// Utimens sets the open file's times.
func (f *rootFile) Utimens(atim, mtim int64) experimentalsys.Errno {
	return futimens(f.of.file, atim, mtim)
}

// Close closes the file through the wrapper, which closes the latest
// *os.File.
func (f *rootFile) Close() experimentalsys.Errno { return f.File.Close() }
