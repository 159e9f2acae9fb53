package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func cmdVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "--config FILE | --db PATH", stderr)
	path := fs.String("config", "", "check the store of this config's data_dir (server stopped)")
	db := fs.String("db", "", "check this store file instead, e.g. a backup copy")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	file := *db
	if file == "" {
		cfg, err := loadConfig(fs, *path)
		if err != nil {
			return err
		}
		file = storeFile(cfg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return verifyFile(ctx, stdout, file)
}

// verifyFile checks a store file, printing each problem or a summary.
func verifyFile(ctx context.Context, w io.Writer, file string) error {
	if os.Getenv(checkEnv) != "" {
		return checkHere(ctx, file, w)
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("no store at %s: %w", file, err)
	}
	sum, err := checkFile(ctx, file, w)
	if err != nil {
		return err
	}
	printSummary(w, file, sum)
	return nil
}
