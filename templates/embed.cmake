# Turns the node config templates into C arrays (one generated source), so
# the ledgerform binary carries them wherever it runs.
# Usage: cmake -DOUT=file.c "-DIN=name1=path1|name2=path2" -P embed.cmake
set(body "/* generated from templates/ by templates/embed.cmake; do not edit */\n")
string(REPLACE "|" ";" IN "${IN}")
foreach(pair IN LISTS IN)
  string(REPLACE "=" ";" kv "${pair}")
  list(GET kv 0 name)
  list(GET kv 1 path)
  file(READ "${path}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "const char ${name}[] = {${hex}0x00};\n")
endforeach()
file(WRITE "${OUT}.tmp" "${body}")
file(RENAME "${OUT}.tmp" "${OUT}")
