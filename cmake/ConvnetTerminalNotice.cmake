# convnet_terminal_notice(text): writes `text`, as a paragraph of its own, to the terminal the build
# runs in. pip keeps a successful build's output (message(WARNING) included) to itself unless run
# with -v, but the build still runs in the terminal's session, so /dev/tty reaches the user. Without
# a controlling terminal (CI, a service, Windows) nothing is written and nothing fails.
function(convnet_terminal_notice text)
  if(UNIX)
    execute_process(COMMAND sh -c "printf '\\n%s\\n\\n' \"$1\" > /dev/tty" convnet "${text}"
      RESULT_VARIABLE _written OUTPUT_QUIET ERROR_QUIET)
  endif()
endfunction()
