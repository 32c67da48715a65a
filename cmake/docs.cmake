# The man page and the bash/zsh completion scripts, made from the built
# binary's --help texts at build time (cmake/gen-docs.sh) and installed by
# `cmake --install`.
set(lf_docs_out ${CMAKE_BINARY_DIR}/docs-gen)
set(lf_docs_files ${lf_docs_out}/ledgerform.1 ${lf_docs_out}/completion/ledgerform
    ${lf_docs_out}/completion/_ledgerform)
add_custom_command(OUTPUT ${lf_docs_files}
  COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0
    sh ${CMAKE_SOURCE_DIR}/cmake/gen-docs.sh $<TARGET_FILE:ledgerform> ${PROJECT_VERSION}
    ${lf_docs_out}
  DEPENDS ledgerform ${CMAKE_SOURCE_DIR}/cmake/gen-docs.sh
  COMMENT "man page and shell completion from the --help texts"
  VERBATIM)
add_custom_target(ledgerform_docs ALL DEPENDS ${lf_docs_files})
install(FILES ${lf_docs_out}/ledgerform.1 DESTINATION share/man/man1)
install(FILES ${lf_docs_out}/completion/ledgerform
        DESTINATION share/bash-completion/completions)
install(FILES ${lf_docs_out}/completion/_ledgerform DESTINATION share/zsh/site-functions)
