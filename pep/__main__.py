from pep.cli import main

raise SystemExit(main())
