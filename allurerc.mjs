// Allure 3 config for synthmon's reports: the allure2 plugin only, because it honours
// ALLURE_NO_ANALYTICS=true (awesome and classic embed an analytics tag regardless).
export default {
  name: "synthmon",
  output: "allure-report",
  plugins: {
    allure2: {
      options: {
        reportName: "synthmon",
      },
    },
  },
};
