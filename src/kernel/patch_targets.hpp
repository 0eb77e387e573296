// What a patch (Self::patch) may target, checked before it is sent.
#pragma once

#include <string_view>

namespace stube {

// Datastar (1.0.0-beta.11) morphs each top-level element of a patch into the
// page's element `#<id>`, a CSS selector made from the raw id, so user text
// in an id ("x,#stube-root") could pick other elements to overwrite, and an
// id such as "1x" breaks the patch. Throws std::invalid_argument unless every
// id in `markup` is a plain CSS identifier ([A-Za-z_][A-Za-z0-9_-]*) and
// every top-level element has one. Every id, not only the top-level ones:
// the browser's parser may hoist a nested element to the top (a <div> in a
// <p>, an <li> in an <li>), where it becomes a target too. Also refused:
// what the parser would reshape into a top-level element without an id (the
// </p> after a block closed its <p>) or move out of a table.
void check_patch_targets(std::string_view markup);

}  // namespace stube
