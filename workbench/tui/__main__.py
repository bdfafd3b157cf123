from workbench.tui.app import main

main()
