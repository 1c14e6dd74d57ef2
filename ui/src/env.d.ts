/// <reference types="vite/client" />
import 'vue-router'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    title?: string
    area?: string
    /** The page brings its own navigator; the shell hides its menu. */
    ownNav?: boolean
    /** The menu entry to highlight on a page that is not itself in the menu. */
    menu?: string
  }
}
