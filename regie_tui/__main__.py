from regie_tui.cli import main

main()
