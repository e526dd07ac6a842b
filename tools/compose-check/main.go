// compose-check validates compose files against the Compose Specification without a
// container engine, with the same loader Docker Compose uses (schema validation,
// interpolation, normalization, consistency of references between services), and
// prints the normalized project as JSON on stdout. tests/test_compose.py reads that
// output, so the test checks what Compose would run rather than the raw YAML.
//
// Usage: compose-check [-project-directory DIR] COMPOSE_FILE...
// Relative paths in the files (build contexts, bind mounts) resolve against DIR,
// by default the first file's directory, as with `docker compose --project-directory`.
// Variables for interpolation come from the process environment only (no .env
// file), so the result does not depend on files a user keeps beside the compose file.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	projectDirectory := flag.String("project-directory", "", "directory relative paths resolve against")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compose-check [-project-directory DIR] COMPOSE_FILE...")
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	settings := []cli.ProjectOptionsFn{cli.WithOsEnv}
	if *projectDirectory != "" {
		settings = append(settings, cli.WithWorkingDirectory(*projectDirectory))
	}
	options, err := cli.NewProjectOptions(flag.Args(), settings...)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	if _, err := os.Stdout.Write(append(out, '\n')); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compose-check:", err)
	os.Exit(1)
}
