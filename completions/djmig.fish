# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_djmig_global_optspecs
    string join \n C= config= strict color= h/help V/version
end

function __fish_djmig_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_djmig_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_djmig_using_subcommand
    set -l cmd (__fish_djmig_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c djmig -n "__fish_djmig_needs_command" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_needs_command" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_needs_command" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_needs_command" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_needs_command" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_needs_command" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "graph" -d 'Print the migration graph of the work tree or of a git revision'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "check" -d 'Report apps with more than one leaf migration (exit 1 when any); with --base, predict the conflicts of merging two revisions'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "scan" -d 'Find pairs of branches (or any refs, like pull-request heads) that both add migrations to an app on top of the same base migration, and those the base has already added to in the same place'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "resolve" -d 'Fix conflicted apps: regenerate, re-parent, or merge (last resort)'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "review" -d 'Review the migrations a branch adds or changes relative to its base: deployed migrations edited, locks on large tables, lost data, irreversible steps (exit 1 on a finding at error severity)'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "undo" -d 'Restore every file the last resolution changed, byte for byte'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "hook" -d 'Install, remove or run djmig\'s git hooks'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c djmig -n "__fish_djmig_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c djmig -n "__fish_djmig_using_subcommand graph" -l format -d 'Output format' -r -f -a "text\t''
json\t''
dot\t''"
complete -c djmig -n "__fish_djmig_using_subcommand graph" -l ref -d 'Read the files of this git revision instead of the work tree' -r
complete -c djmig -n "__fish_djmig_using_subcommand graph" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand graph" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand graph" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand graph" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand graph" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand graph" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand check" -l format -d 'Output format (default: github inside GitHub Actions, else text)' -r -f -a "text\t''
json\t''
github\t'GitHub Actions workflow annotations'"
complete -c djmig -n "__fish_djmig_using_subcommand check" -l base -d 'Compare with this revision: predict the merge of head and base' -r
complete -c djmig -n "__fish_djmig_using_subcommand check" -l head -d 'The head side of the comparison (default: the work tree)' -r
complete -c djmig -n "__fish_djmig_using_subcommand check" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand check" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand check" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand check" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c djmig -n "__fish_djmig_using_subcommand check" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand scan" -l base -d 'The base revision the refs are compared against' -r
complete -c djmig -n "__fish_djmig_using_subcommand scan" -l since -d 'Only refs whose commit is this recent: a day (2024-05-01), a moment (2024-05-01T12:00:00Z), a span back from now (90.days, "2 weeks ago") or @<seconds since 1970>' -r
complete -c djmig -n "__fish_djmig_using_subcommand scan" -l format -d 'Output format' -r -f -a "text\t''
json\t''"
complete -c djmig -n "__fish_djmig_using_subcommand scan" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand scan" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand scan" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand scan" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand scan" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand scan" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l base -d 'The upstream revision (default: as for `check`)' -r
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l strategy -d 'The strategy, instead of asking' -r -f -a "regenerate\t'Delete our migrations and let makemigrations write them again'
reparent\t'Rename ours to follow upstream\'s leaf and rewrite their dependencies'
merge\t'Add a merge migration (makemigrations --merge): the last resort'"
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l format -d 'Output format of the plan and the report' -r -f -a "text\t''
json\t''"
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -s y -l yes -d 'Take the recommended choice at every question, database steps included'
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l dry-run -d 'Print the plan and change nothing'
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l allow-dirty -d 'Go on although files to be changed have uncommitted changes'
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l no-database -d 'The local database does not matter: do not ask it what is applied, and do not migrate it (needed to delete or rename migrations when it cannot be asked)'
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c djmig -n "__fish_djmig_using_subcommand resolve" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand review" -l base -d 'The base to compare with (default: as for `check --base`)' -r
complete -c djmig -n "__fish_djmig_using_subcommand review" -l head -d 'The head side of the comparison (default: the work tree)' -r
complete -c djmig -n "__fish_djmig_using_subcommand review" -l format -d 'Output format (default: github inside GitHub Actions, else text)' -r -f -a "text\t''
json\t''
github\t'GitHub Actions workflow annotations'
sarif\t'SARIF 2.1.0, for code scanning'"
complete -c djmig -n "__fish_djmig_using_subcommand review" -l select -d 'Only these rules (comma-separated ids)' -r
complete -c djmig -n "__fish_djmig_using_subcommand review" -l ignore -d 'Not these rules (comma-separated ids), besides `review.ignore` in .djmig.yml' -r
complete -c djmig -n "__fish_djmig_using_subcommand review" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand review" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand review" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand review" -l all -d 'Review every migration of the project in the work tree, without comparing with a base'
complete -c djmig -n "__fish_djmig_using_subcommand review" -l fix -d 'Rewrite what can be rewritten safely (AddIndex to AddIndexConcurrently in a non-atomic migration); shows the diff first, and `djmig undo` puts the files back'
complete -c djmig -n "__fish_djmig_using_subcommand review" -l fix-irreversible -d 'Also give RunPython and RunSQL without a reverse a no-op reverse (implies --fix)'
complete -c djmig -n "__fish_djmig_using_subcommand review" -l dry-run -d 'With --fix: print the diff and change nothing'
complete -c djmig -n "__fish_djmig_using_subcommand review" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand review" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c djmig -n "__fish_djmig_using_subcommand review" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand undo" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand undo" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand undo" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand undo" -l dry-run -d 'Print what would be restored and change nothing'
complete -c djmig -n "__fish_djmig_using_subcommand undo" -s y -l yes -d 'Take the plan without asking (database steps included)'
complete -c djmig -n "__fish_djmig_using_subcommand undo" -l no-database -d 'Restore the files only; leave the local database as it is'
complete -c djmig -n "__fish_djmig_using_subcommand undo" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand undo" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand undo" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -f -a "install" -d 'Add djmig\'s block to the git hooks (existing hooks are kept)'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -f -a "uninstall" -d 'Remove djmig\'s block from the git hooks'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -f -a "run" -d 'What the installed hooks run: a quiet check that never fails'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and not __fish_seen_subcommand_from install uninstall run help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from install" -l hooks -d 'Which hooks' -r
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from install" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from install" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from install" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from install" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -l hooks -d 'Which hooks' -r
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from uninstall" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from run" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from run" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from run" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from run" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "install" -d 'Add djmig\'s block to the git hooks (existing hooks are kept)'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "uninstall" -d 'Remove djmig\'s block from the git hooks'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "run" -d 'What the installed hooks run: a quiet check that never fails'
complete -c djmig -n "__fish_djmig_using_subcommand hook; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c djmig -n "__fish_djmig_using_subcommand completions" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand completions" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand completions" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand completions" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand completions" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand completions" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand man" -s C -d 'Run as if started in DIR (the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand man" -l config -d 'Configuration file (default: .djmig.yml at the project root)' -r -F
complete -c djmig -n "__fish_djmig_using_subcommand man" -l color -d 'When to use colour (NO_COLOR is respected with `auto`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c djmig -n "__fish_djmig_using_subcommand man" -l strict -d 'Dependencies on apps found nowhere are errors, as Django raises them'
complete -c djmig -n "__fish_djmig_using_subcommand man" -s h -l help -d 'Print help'
complete -c djmig -n "__fish_djmig_using_subcommand man" -s V -l version -d 'Print version'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "graph" -d 'Print the migration graph of the work tree or of a git revision'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "check" -d 'Report apps with more than one leaf migration (exit 1 when any); with --base, predict the conflicts of merging two revisions'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "scan" -d 'Find pairs of branches (or any refs, like pull-request heads) that both add migrations to an app on top of the same base migration, and those the base has already added to in the same place'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "resolve" -d 'Fix conflicted apps: regenerate, re-parent, or merge (last resort)'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "review" -d 'Review the migrations a branch adds or changes relative to its base: deployed migrations edited, locks on large tables, lost data, irreversible steps (exit 1 on a finding at error severity)'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "undo" -d 'Restore every file the last resolution changed, byte for byte'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "hook" -d 'Install, remove or run djmig\'s git hooks'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "man" -d 'Print the man page (roff)'
complete -c djmig -n "__fish_djmig_using_subcommand help; and not __fish_seen_subcommand_from graph check scan resolve review undo hook completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c djmig -n "__fish_djmig_using_subcommand help; and __fish_seen_subcommand_from hook" -f -a "install" -d 'Add djmig\'s block to the git hooks (existing hooks are kept)'
complete -c djmig -n "__fish_djmig_using_subcommand help; and __fish_seen_subcommand_from hook" -f -a "uninstall" -d 'Remove djmig\'s block from the git hooks'
complete -c djmig -n "__fish_djmig_using_subcommand help; and __fish_seen_subcommand_from hook" -f -a "run" -d 'What the installed hooks run: a quiet check that never fails'
