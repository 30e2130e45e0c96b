from archiver import main

raise SystemExit(main())
