// Package testutil holds helpers shared by the tests of several packages:
// building plugins from source and finding the module root. Test code only.
package testutil
