//go:build !linux

package host

import (
	"os"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// Elsewhere than on Linux, open flags beyond the os package's are ignored,
// and changing an open file's append flag or times is not supported.

var sysFlags []oflag

func setAppend(*os.File, bool) experimentalsys.Errno { return experimentalsys.ENOSYS }

func futimens(*os.File, int64, int64) experimentalsys.Errno { return experimentalsys.ENOSYS }
