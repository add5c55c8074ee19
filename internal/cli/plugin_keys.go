package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/fleet"
)

// plugin keygen and sign: Ed25519 keys and detached signatures.

func newPluginKeygenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen KEYFILE",
		Short: "Make an Ed25519 key pair for signing plugins",
		Long: `Write a new private key to KEYFILE (PKCS #8 PEM, readable by you alone) and
its public key to KEYFILE.pub, and print the public key as
plugins.trusted_keys takes it. Sign with 'plugin deploy --sign KEYFILE' or
'plugin sign --key KEYFILE'.`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			pub, err := fleet.GenerateKey(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s.pub; trust it with\n  [plugins]\n  trusted_keys = [%q]\n", args[0], args[0], pub)
			return nil
		},
	}
}

func newPluginSignCmd() *cobra.Command {
	var keyFile, name string
	cmd := &cobra.Command{
		Use:   "sign --key KEYFILE PLUGIN.wasm",
		Short: "Write a plugin file's detached signature, PLUGIN.wasm.sig",
		Long: `Sign the plugin's name (--name, default the file name without .wasm) and
sha256 with KEYFILE and write PLUGIN.wasm.sig beside it: daemons with
plugins.trusted_keys load a plugin file only with a valid one.`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return usagef("sign: --key KEYFILE is required")
			}
			key, err := fleet.ReadPrivateKey(keyFile)
			if err != nil {
				return usageError{err}
			}
			code, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			if name == "" {
				name = config.PluginName(args[0])
			}
			sig := fleet.Sign(key, name, fleet.SHA256(code))
			if err := os.WriteFile(args[0]+fleet.SigSuffix, append(sig.Marshal(), '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s%s (plugin %s, sha256 %s)\n", args[0], fleet.SigSuffix, name, sig.SHA256)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "private key (wasmhost plugin keygen)")
	cmd.Flags().StringVar(&name, "name", "", "plugin name signed (default the file name without .wasm)")
	return cmd
}
