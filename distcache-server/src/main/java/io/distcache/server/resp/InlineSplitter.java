package io.distcache.server.resp;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: inline commands (what people type into telnet) are split like Redis's sdssplitargs:
 * blanks separate arguments; "double quotes" understand \n \r \t \b \a \xHH and \<any>; 'single
 * quotes' understand only \'; a closing quote must be followed by a blank or the end. A NUL byte ends
 * the line, as it does for the C string Redis splits.
 */

/** Splits one inline command line into arguments. */
final class InlineSplitter {
  private InlineSplitter() {}

  /** The arguments, or null when the quotes are unbalanced. */
  static List<byte[]> split(byte[] line) {
    int len = line.length;
    for (int i = 0; i < line.length; i++) {
      if (line[i] == 0) {
        len = i;
        break;
      }
    }
    List<byte[]> out = new ArrayList<>();
    int p = 0;
    while (true) {
      while (p < len && isSpace(line[p])) {
        p++;
      }
      if (p >= len) {
        return out;
      }
      ByteArrayOutputStream cur = new ByteArrayOutputStream();
      boolean inDouble = false;
      boolean inSingle = false;
      boolean done = false;
      while (!done) {
        int c = p < len ? line[p] & 0xFF : -1;
        if (inDouble) {
          if (c == '\\' && p + 3 < len && line[p + 1] == 'x' && isHex(line[p + 2]) && isHex(line[p + 3])) {
            cur.write(hex(line[p + 2]) * 16 + hex(line[p + 3]));
            p += 3;
          } else if (c == '\\' && p + 1 < len) {
            p++;
            int e = line[p] & 0xFF;
            cur.write(switch (e) {
              case 'n' -> '\n';
              case 'r' -> '\r';
              case 't' -> '\t';
              case 'b' -> '\b';
              case 'a' -> 7;
              default -> e;
            });
          } else if (c == '"') {
            if (p + 1 < len && !isSpace(line[p + 1])) {
              return null;
            }
            done = true;
          } else if (c == -1) {
            return null;
          } else {
            cur.write(c);
          }
        } else if (inSingle) {
          if (c == '\\' && p + 1 < len && line[p + 1] == '\'') {
            p++;
            cur.write('\'');
          } else if (c == '\'') {
            if (p + 1 < len && !isSpace(line[p + 1])) {
              return null;
            }
            done = true;
          } else if (c == -1) {
            return null;
          } else {
            cur.write(c);
          }
        } else {
          switch (c) {
            case ' ', '\n', '\r', '\t', -1 -> done = true;
            case '"' -> inDouble = true;
            case '\'' -> inSingle = true;
            default -> cur.write(c);
          }
        }
        if (p < len) {
          p++;
        }
      }
      out.add(cur.toByteArray());
    }
  }

  private static boolean isSpace(byte b) {
    return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == 0x0B || b == '\f';
  }

  private static boolean isHex(byte b) {
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
  }

  private static int hex(byte b) {
    if (b >= '0' && b <= '9') {
      return b - '0';
    }
    return (b | 0x20) - 'a' + 10;
  }
}
